package libstart

import specs "github.com/opencontainers/runtime-spec/specs-go"

// specDoc is specs.Spec with a generated decoder (see codec.go). Its
// decoder refuses any key it does not know by its exact name; DecodeSpec
// then decodes the document again with encoding/json, which is what runc
// uses, so that case-insensitive keys, fields newer than the spec module
// and every error message stay exactly runc's. Canonical documents (what
// every client writes) take the generated path: the first encoding/json
// decode of a Spec in a process cost ~1.3 ms of reflection.
//
//easyjson:json
type specDoc specs.Spec
