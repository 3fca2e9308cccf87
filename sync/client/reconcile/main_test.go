package reconcile_test

import (
	"testing"

	"github.com/kortstation/kortstation/sync/registrytest"
)

// TestMain stops the PostgreSQL server the registries of the tests ran on
// (registrytest.BackendEnv=postgres).
func TestMain(m *testing.M) { registrytest.Main(m) }
