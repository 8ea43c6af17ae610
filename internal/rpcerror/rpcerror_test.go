package rpcerror

import (
	"errors"
	"fmt"
	"io"
	"testing"
)

func TestAllExtractsErrors(t *testing.T) {
	one := New(TagInvalidValue, "/ntpa:ntp", "bad %s", "value")
	if one.Type != TypeApplication || one.Message != "bad value" {
		t.Fatalf("New = %+v", one)
	}
	if got := All(nil); got != nil {
		t.Errorf("All(nil) = %v", got)
	}
	if got := All(fmt.Errorf("wrapped: %w", one)); len(got) != 1 || got[0] != one {
		t.Errorf("All(wrapped) = %v", got)
	}
	l := List{one, New(TagDataMissing, "", "gone")}
	if got := All(fmt.Errorf("ctx: %w", l)); len(got) != 2 {
		t.Errorf("All(list) = %v", got)
	}
	// Any other error becomes operation-failed and keeps its cause.
	got := All(io.ErrUnexpectedEOF)
	if len(got) != 1 || got[0].Tag != TagOperationFailed || !errors.Is(got[0], io.ErrUnexpectedEOF) {
		t.Errorf("All(plain) = %+v", got)
	}
}

func TestErrorText(t *testing.T) {
	e := New(TagLockDenied, "", "Locked by session 3.")
	if e.Error() != "lock-denied: Locked by session 3." {
		t.Errorf("Error() = %q", e.Error())
	}
	e.Path = "/ntpa:ntp"
	if e.Error() != "lock-denied: Locked by session 3. (/ntpa:ntp)" {
		t.Errorf("Error() = %q", e.Error())
	}
	if (List{}).Error() != "no error" || (List{e, e}).Error() != e.Error()+"; "+e.Error() {
		t.Error("List.Error text")
	}
}
