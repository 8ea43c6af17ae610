// Package testtool lets a test ask for an external program (yanglint,
// chronyd, python3 with ncclient, ansible-playbook, tshark, ip): the test
// skips when the program is missing on a developer's machine, and fails
// under CI=true, where `make test` has installed everything (a missing tool
// in CI is a failure, never a silent skip).
package testtool
