// The normative specification, rendered as this module's documentation so
// that docs.rs shows it next to the code that implements it. The text is
// `protocol/PROTOCOL.md`, a link to `docs/PROTOCOL.md` that the published
// package carries (the spec tests read it too). The module has no items.
#![doc = include_str!("../PROTOCOL.md")]
