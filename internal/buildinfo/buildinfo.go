// Package buildinfo is the one place that reads the versions results
// depend on: the code revision, the Go toolchain, OpenCV, the feature code,
// the TFLite importer, the store schema and the ONNX Runtime release the
// Makefile fetches. Commands read them here and pass them on; stage keys
// name them.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/modelpick/modelpick/features"
	"github.com/modelpick/modelpick/internal/settings"
	"github.com/modelpick/modelpick/onnxconv"
	"github.com/modelpick/modelpick/store"
)

// Revision is the VCS revision the binary was built from, "unknown" when
// not recorded.
func Revision() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}

// Go is the Go toolchain's version.
func Go() string { return runtime.Version() }

// OpenCV is the OpenCV version the image code links.
func OpenCV() string { return features.OpenCVVersion() }

// Versions are the code versions a result depends on, as its manifest
// records them.
func Versions() map[string]string {
	return map[string]string{
		"go": Go(), "features": features.Version, "onnxconv": onnxconv.Version,
		"opencv": OpenCV(), "onnxruntime (expected)": settings.ORTVersion,
		"store schema": fmt.Sprint(store.SchemaVersion),
	}
}
