// Package yang owns ntpagent's YANG modules: it embeds the *.yang files of
// this folder, parses them with goyang, and answers the questions the other
// layers ask of the schema — which module a namespace belongs to, a module's
// prefix and revision, its text (served by NETCONF <get-schema>), and the
// goyang entry tree (defaults, keys, config true/false) that the XML codec
// walks.
//
// It owns no state beyond the parsed, read-only schema and must not import
// any other package of ours.
package yang
