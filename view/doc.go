// Package view is the layer between the NETCONF codec and the datastore
// that lets clients speak other models of the same configuration: each
// View is a set of YANG modules (ietf-ntp, openconfig-system, ...) with a
// ygot-generated package of its own, translated to and from ntpagent's
// native tree (gen.Device), which is the only tree the datastore keeps.
//
// A view is a lens. To edit through it, the layer projects the candidate
// (or running) into the view's tree, applies the client's <config> to the
// projection with the codec's own operation semantics (RFC 6241 §7.2), and
// puts the result back: the parts of the native tree the view covers are
// replaced, everything else is kept. The datastore then validates the
// native tree as it always does. So every view edits the same datastore
// through the same session: an edit through one view is visible through
// every other at once, and one commit commits whatever views it touched.
//
// It owns no state beyond a cache: a Set is built once, and keeps the
// views' projections of the last (read-only) tree it encoded. It must not touch
// datastores, sessions or locks (the caller hands it the tree to edit,
// inside the datastore's edit), and it never writes XML itself (package
// xmlcodec does, from each view's schema).
package view
