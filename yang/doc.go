// Package yang owns the device's YANG library: ntpagent's own modules
// (*.yang of this folder, whose data package gen holds) and the standard
// modules the server implements or imports (ietf/NAME@REVISION.yang,
// verbatim as published, notices included; never edit them). It embeds
// and parses them with goyang, and answers the questions the other layers
// ask of the schema — which module a namespace belongs to, a module's
// prefix, revision, conformance, features and deviations (RFC 8525), its
// text (served by NETCONF <get-schema>), the library's content-id, and the
// goyang entry tree (defaults, keys, config true/false) that the XML codec
// walks. The trees are built once, at load: goyang's cache is dropped
// then, so leafrefs are resolved through Schema.LeafrefTarget, never by
// goyang's Find across modules, which would build a module's tree again
// without its augments and deviations.
//
// Which standard modules are implemented, and which of their features are
// supported, is said in one place (standardImplemented); the server's
// <hello> and YANG library follow from it.
//
// It owns no state beyond the parsed, read-only schema and must not import
// any other package of ours.
package yang
