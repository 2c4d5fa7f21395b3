"""The side panels inside each helpdesk: who may ask (app tokens, panel sessions) and what every
panel shows and sends back."""
