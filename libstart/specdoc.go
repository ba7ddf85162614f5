package libstart

import (
	"encoding/json"
	"unicode/utf8"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// specDoc is the part of specs.Spec a Linux runtime reads, with a generated
// decoder (see codec.go) that refuses any key it does not know by its exact
// name: the other platforms' sections (solaris, windows, vm, zos, freebsd),
// case variants and fields newer than the spec module. DecodeSpec then
// decodes the document with encoding/json, which is what runc uses, so that
// those and every error message stay exactly runc's. Canonical documents
// (what every client writes) take the generated path: the first
// encoding/json decode of a Spec in a process cost ~1.3 ms of reflection.
// TestSpecDocFields keeps the fields in step with specs.Spec.
//
//easyjson:json
type specDoc struct {
	Version     string            `json:"ociVersion"`
	Process     *specs.Process    `json:"process,omitempty"`
	Root        *specs.Root       `json:"root,omitempty"`
	Hostname    string            `json:"hostname,omitempty"`
	Domainname  string            `json:"domainname,omitempty"`
	Mounts      []specs.Mount     `json:"mounts,omitempty"`
	Hooks       *specs.Hooks      `json:"hooks,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Linux       *specs.Linux      `json:"linux,omitempty"`
}

// decodeSpecFast decodes data with the generated decoder; ok is false when
// the document is for encoding/json. The generated lexer is more lenient
// than encoding/json (it takes raw control characters in strings and keeps
// invalid UTF-8 that encoding/json replaces with U+FFFD), so such documents
// go the slow way too.
func decodeSpecFast(data []byte) (spec *specs.Spec, ok bool) {
	var d specDoc
	if !utf8.Valid(data) || !json.Valid(data) || decodeJSON(data, &d) != nil {
		return nil, false
	}
	return &specs.Spec{Version: d.Version, Process: d.Process, Root: d.Root, Hostname: d.Hostname,
		Domainname: d.Domainname, Mounts: d.Mounts, Hooks: d.Hooks, Annotations: d.Annotations,
		Linux: d.Linux}, true
}
