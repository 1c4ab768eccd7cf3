// Package settings resolves the few paths every command needs (shared assets,
// cache folder, ONNX Runtime library) from environment variables with
// documented defaults, so no path is hard-coded elsewhere.
package settings

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Environment variables understood by modelpick.
const (
	EnvAssets = "MODELPICK_ASSETS"  // folder of shared assets (models, images, profiles)
	EnvCache  = "MODELPICK_CACHE"   // cache for converted models and the ORT library
	EnvORTLib = "MODELPICK_ORT_LIB" // path to libonnxruntime.so (e.g. a CUDA/TensorRT build)
)

// ORTVersion is the ONNX Runtime release the Makefile fetches.
const ORTVersion = "1.30.0"

// Assets returns the shared-assets folder: $MODELPICK_ASSETS, else
// ../shared/assets relative to the repository root found from the working
// directory (walking up to the folder holding go.mod), else ../shared/assets.
// The result is absolute, so paths built from it do not depend on the
// folder a spec file lives in.
func Assets() string {
	p := os.Getenv(EnvAssets)
	switch {
	case p != "":
	case RepoRoot() != "":
		p = filepath.Join(RepoRoot(), "..", "shared", "assets")
	default:
		p = filepath.Join("..", "shared", "assets")
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// RepoRoot is the folder holding this module's go.mod, found by walking up
// from the working directory, else from the running executable (so
// bin/modelpick run from elsewhere still finds its checkout); "" when
// neither is inside a checkout.
func RepoRoot() string {
	if wd, err := os.Getwd(); err == nil {
		if r := findRoot(wd); r != "" {
			return r
		}
	}
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			return findRoot(filepath.Dir(exe))
		}
	}
	return ""
}

func findRoot(dir string) string {
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && len(b) > 0 &&
			strings.Contains(string(b), "module github.com/modelpick/modelpick\n") {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Cache returns $MODELPICK_CACHE, else the user cache dir + /modelpick.
func Cache() string {
	if v := os.Getenv(EnvCache); v != "" {
		return v
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "modelpick")
	}
	return filepath.Join(os.TempDir(), "modelpick-cache")
}

// ORTLibrary returns $MODELPICK_ORT_LIB, else the library the Makefile
// extracts from the onnxruntime-node npm package into the cache.
func ORTLibrary() string {
	if v := os.Getenv(EnvORTLib); v != "" {
		return v
	}
	arch := "x64"
	if runtime.GOARCH == "arm64" {
		arch = "arm64"
	}
	return filepath.Join(Cache(), "ort", ORTVersion, "linux-"+arch, "libonnxruntime.so.1")
}
