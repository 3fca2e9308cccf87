package p11

import (
	"errors"
	"fmt"

	"github.com/miekg/pkcs11"
)

// PKCS11 is the part of the PKCS#11 API the reader uses, with the
// signatures of github.com/miekg/pkcs11's *Ctx (which implements it).
// Tests wrap it, e.g. to give SoftHSM2 a card's PIN retry counter.
type PKCS11 interface {
	GetSlotList(tokenPresent bool) ([]uint, error)
	GetSlotInfo(slotID uint) (pkcs11.SlotInfo, error)
	GetTokenInfo(slotID uint) (pkcs11.TokenInfo, error)
	OpenSession(slotID uint, flags uint) (pkcs11.SessionHandle, error)
	CloseSession(sh pkcs11.SessionHandle) error
	GetSessionInfo(sh pkcs11.SessionHandle) (pkcs11.SessionInfo, error)
	Login(sh pkcs11.SessionHandle, userType uint, pin string) error
	Logout(sh pkcs11.SessionHandle) error
	FindObjectsInit(sh pkcs11.SessionHandle, temp []*pkcs11.Attribute) error
	FindObjects(sh pkcs11.SessionHandle, max int) ([]pkcs11.ObjectHandle, bool, error)
	FindObjectsFinal(sh pkcs11.SessionHandle) error
	GetAttributeValue(sh pkcs11.SessionHandle, o pkcs11.ObjectHandle, a []*pkcs11.Attribute) ([]*pkcs11.Attribute, error)
	SignInit(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, o pkcs11.ObjectHandle) error
	Sign(sh pkcs11.SessionHandle, message []byte) ([]byte, error)
}

var _ PKCS11 = (*pkcs11.Ctx)(nil)

// Module is a loaded and initialised PKCS#11 module. A module is
// initialised once per process (C_Initialize is process-wide): open it
// once and share it between Readers.
type Module struct {
	api   PKCS11
	close func() error
}

// ErrModule: the PKCS#11 module could not be loaded or initialised.
var ErrModule = errors.New("p11: PKCS#11 module unusable")

// Open loads the PKCS#11 module at path (a .so) and initialises it. Close
// finalises and unloads it.
func Open(path string) (*Module, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: no module path", ErrModule)
	}
	ctx := pkcs11.New(path)
	if ctx == nil {
		return nil, fmt.Errorf("%w: cannot load %s", ErrModule, path)
	}
	if err := ctx.Initialize(); err != nil {
		ctx.Destroy()
		return nil, fmt.Errorf("%w: C_Initialize of %s: %w", ErrModule, path, err)
	}
	return &Module{api: ctx, close: func() error {
		err := ctx.Finalize()
		ctx.Destroy()
		return err
	}}, nil
}

// NewModule returns a Module over api, initialised by its owner; Close
// does nothing (the owner finalises it).
func NewModule(api PKCS11) *Module {
	return &Module{api: api, close: func() error { return nil }}
}

// Close finalises and unloads a module from Open. Readers over it stop
// working.
func (m *Module) Close() error {
	if err := m.close(); err != nil {
		return fmt.Errorf("p11: C_Finalize: %w", err)
	}
	return nil
}
