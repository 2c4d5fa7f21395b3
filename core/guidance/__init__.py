"""Step-by-step guidance on the customer's screen, helpdesk-agnostic: the steps a support reply
gives (:mod:`core.guidance.steps`), the other names a reply gives a thing
(:mod:`core.guidance.aliases`) and the page element each step names
(:mod:`core.guidance.matching`). The widget's guide is built from them in
:mod:`core.widget.guide`."""
