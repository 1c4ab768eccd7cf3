// Package ortenv starts the process-wide ONNX Runtime environment once.
//
// ONNX Runtime keeps one global environment per process (onnxruntime_go
// mirrors that), so this is the one place that holds process state: a
// sync.Once around loading the shared library.
package ortenv

import (
	"errors"
	"fmt"
	"os"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/modelpick/modelpick/internal/settings"
)

var (
	once    sync.Once
	initErr error
	libUsed string
)

// Init loads the ONNX Runtime shared library at lib ("" means
// settings.ORTLibrary()) and initialises the environment. Later calls return
// the first call's result; a later call naming a different library is an error.
func Init(lib string) error {
	if lib == "" {
		lib = settings.ORTLibrary()
	}
	once.Do(func() {
		libUsed = lib
		if _, err := os.Stat(lib); err != nil {
			initErr = fmt.Errorf("ONNX Runtime library %s: %w (run `make ort` to fetch it from the onnxruntime-node npm package, or set %s to your own build)", lib, err, settings.EnvORTLib)
			return
		}
		ort.SetSharedLibraryPath(lib)
		if err := ort.InitializeEnvironment(); err != nil {
			initErr = fmt.Errorf("initialise ONNX Runtime from %s: %w", lib, err)
		}
	})
	if initErr == nil && lib != libUsed {
		return errors.New("ONNX Runtime already initialised from " + libUsed + "; cannot switch to " + lib)
	}
	return initErr
}

// Library reports the library path Init loaded ("" before Init).
func Library() string { return libUsed }

// Version is the loaded runtime's version string, e.g. "1.30.0".
func Version() string {
	if initErr != nil || libUsed == "" {
		return ""
	}
	return ort.GetVersion()
}
