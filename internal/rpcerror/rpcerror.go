package rpcerror

import (
	"errors"
	"fmt"
)

// Type is the RFC 6241 Appendix A error-type: the conceptual layer of the error.
type Type string

// The error-type values of RFC 6241 Appendix A.
const (
	TypeTransport   Type = "transport"
	TypeRPC         Type = "rpc"
	TypeProtocol    Type = "protocol"
	TypeApplication Type = "application"
)

// Tag is the RFC 6241 Appendix A error-tag.
type Tag string

// The error-tag values of RFC 6241 Appendix A.
const (
	TagInUse                 Tag = "in-use"
	TagInvalidValue          Tag = "invalid-value"
	TagTooBig                Tag = "too-big"
	TagMissingAttribute      Tag = "missing-attribute"
	TagBadAttribute          Tag = "bad-attribute"
	TagUnknownAttribute      Tag = "unknown-attribute"
	TagMissingElement        Tag = "missing-element"
	TagBadElement            Tag = "bad-element"
	TagUnknownElement        Tag = "unknown-element"
	TagUnknownNamespace      Tag = "unknown-namespace"
	TagAccessDenied          Tag = "access-denied"
	TagLockDenied            Tag = "lock-denied"
	TagResourceDenied        Tag = "resource-denied"
	TagRollbackFailed        Tag = "rollback-failed"
	TagDataExists            Tag = "data-exists"
	TagDataMissing           Tag = "data-missing"
	TagOperationNotSupported Tag = "operation-not-supported"
	TagOperationFailed       Tag = "operation-failed"
	TagMalformedMessage      Tag = "malformed-message"
)

// Error is one rpc-error. Path is an XPath-like absolute schema instance path
// of configuration data with module prefixes, e.g.
// /ntpa:ntp/ntpa:unicast-peer[ntpa:address='10.1.1.1'][ntpa:vpn-instance='_public_']/ntpa:minpoll.
// Message is one clear English sentence, shown as is by the CLI.
type Error struct {
	Type     Type
	Tag      Tag
	Severity string // "error" (default when empty) or "warning"
	AppTag   string // error-app-tag, optional (e.g. "must-violation" per RFC 7950 §15)
	Path     string
	// Param names the parameter of the operation at fault when the error is
	// about an argument rather than data (e.g. "persist-id"): the layer
	// that knows the protocol turns it into its own form (NETCONF: an
	// error-path to the parameter, RFC 6241 Appendix A). Empty otherwise.
	Param   string
	Message string
	// Info holds error-info children in order, e.g. {"bad-element","port"}
	// or {"session-id","7"}.
	Info []InfoItem
	// Err is an underlying cause, not shown to clients.
	Err error
}

// InfoItem is one child of error-info.
type InfoItem struct {
	Name  string // local name, in the NETCONF base namespace
	Value string
}

func (e *Error) Error() string {
	if e.Path != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Tag, e.Message, e.Path)
	}
	if e.Param != "" {
		return fmt.Sprintf("%s: %s (parameter %s)", e.Tag, e.Message, e.Param)
	}
	return fmt.Sprintf("%s: %s", e.Tag, e.Message)
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns an application-layer error with the given tag, path and message.
func New(tag Tag, path, format string, args ...any) *Error {
	return &Error{Type: TypeApplication, Tag: tag, Path: path, Message: fmt.Sprintf(format, args...)}
}

// List is several rpc-errors reported together (continue-on-error, validation
// that finds several problems). Its Error text joins the messages.
type List []*Error

func (l List) Error() string {
	switch len(l) {
	case 0:
		return "no error"
	case 1:
		return l[0].Error()
	}
	s := l[0].Error()
	for _, e := range l[1:] {
		s += "; " + e.Error()
	}
	return s
}

// All returns the rpc-errors carried by err: the members of a List, one
// *Error found with errors.As, or an operation-failed error wrapping any other
// error.
func All(err error) []*Error {
	if err == nil {
		return nil
	}
	var l List
	if errors.As(err, &l) {
		return l
	}
	var e *Error
	if errors.As(err, &e) {
		return []*Error{e}
	}
	return []*Error{{Type: TypeApplication, Tag: TagOperationFailed, Message: err.Error(), Err: err}}
}
