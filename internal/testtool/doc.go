// Package testtool lets a test ask for an external program (yanglint,
// chronyd, python3 with ncclient, ansible-playbook, tshark, ip): the test
// skips when the program is missing on a developer's machine, and fails
// under CI=true, where `make test` has installed everything (a missing tool
// in CI is a failure, never a silent skip). Under -short (make unit) such a
// test skips whether or not the program is there. It also holds the helpers that
// tests of several packages share: WaitFor (the one bounded poll loop), IP
// (ip(8) with a time bound) and WaitLocalRoute (an IPv6 address a test
// added in a namespace is usable as a destination).
package testtool
