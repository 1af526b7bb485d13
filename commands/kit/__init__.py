"""The handler kit: what a domain needs to declare commands, events and jobs, and to
answer, with nothing of the runtime in it.

`context` (what a handler receives), `registry` (routers, commands, event handlers),
`args` (typed arguments), `events` (reactions, poll responses, memberships, ...),
`jobs` (scheduled work), `conversation` (last lists, choices, preview-then-confirm),
`i18n` (the message catalog), `clock`, `transport` (the protocol the runtime
implements), `settings`, `domain` (the descriptor), `errors`.
"""
