// Package crashtest holds the station's crash campaigns (tests only): the
// real kioskd binary, with its embedded registry, is killed with SIGKILL
// at random points of issuances, extensions, returns and syncs, started
// again, and checked: nothing lost, nothing half-written, nothing
// duplicated at the registry, the audit chain and both databases intact.
// `make test` runs a short campaign; `make soak` a long one
// (KORT_CRASH_RUNS). docs/reliability.md says what it proves and what not.
package crashtest
