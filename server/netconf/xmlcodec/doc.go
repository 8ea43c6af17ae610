// Package xmlcodec is NETCONF XML for ygot structs: ntpagent's own
// (gen.Device, the Native schema) and those of any other model mapped with
// NewSchema (the views of package view). It decodes the <config> of <edit-config> (RFC 6241 §7.2) into an edit tree
// and applies it with the operation attribute, default-operation and
// error-option semantics, placing entries of ordered-by user lists where
// the insert attribute says (RFC 7950 §7.8.6); decodes the inline <config> of <copy-config>;
// encodes a tree as the content of <data> with the four with-defaults modes
// of RFC 6243; and filters the output with subtree filters (RFC 6241 §6) or
// XPath 1.0 (RFC 6241 §8.9); and, for <get-data> (RFC 8526 §3.1.1),
// keeps config or state nodes only, cuts at a max-depth, and decides each
// node's origin (RFC 8342 §5.3.4) for origin filters and annotations.
//
// Everything is driven by the YANG schema (package yang, goyang entries)
// mapped once onto the generated Go structs; ygot itself has no XML support.
//
// It owns no state: the schema table is computed once, read-only. It must
// not touch datastores, sessions, locks or validation rules (package
// datastore and datastore/rules own those); Apply edits only the tree it is
// given, and the caller (the datastore) decides whether to keep it.
package xmlcodec
