package libstart

import (
	"github.com/mailru/easyjson/jlexer"
	"github.com/mailru/easyjson/jwriter"
)

// The documents that cross a process boundary on every container start
// (state.json, the init's Conf, the exec helper's process, stage errors) are
// encoded by code that easyjson generates from the types (the *_easyjson.go
// files), not by encoding/json. encoding/json builds its per-type codecs by
// reflection the first time a process meets a type; for Conf and State that
// cost about 1.5 ms of CPU in the runtime and again in the init on every
// `run`. The generated code does the same work in microseconds and keeps
// the layout encoding/json would write (TestCodecMatchesEncodingJSON).
//
// A type marked //easyjson:json gets the generated methods; after changing
// one of these types run `make generate` (TestCodecRoundTrip fails on a
// field the generated code does not know). The generated files are then
// stripped of their import of easyjson's root package, which links net/http
// (and its package inits) into every lxcrun process: they use it only for
// an unused-import guard and two interfaces, which marshaler and
// unmarshaler below repeat.
//
//go:generate go run github.com/mailru/easyjson/easyjson -stubs conf.go sync.go state.go start.go exec.go specdoc.go
//go:generate go run github.com/mailru/easyjson/easyjson conf.go sync.go state.go start.go exec.go
//go:generate go run github.com/mailru/easyjson/easyjson -disallow_unknown_fields specdoc.go
//go:generate sed -i -e /mailru.easyjson.$/d -e /_.easyjson.Marshaler$/d -e s/(easyjson.Marshaler)/(marshaler)/g -e s/(easyjson.Unmarshaler)/(unmarshaler)/g conf_easyjson.go sync_easyjson.go state_easyjson.go start_easyjson.go exec_easyjson.go specdoc_easyjson.go
//go:generate sed -i "1a //lint:file-ignore SA1019 generated: it decodes every field of the spec, deprecated ones (prestart) too" specdoc_easyjson.go
//go:generate gofmt -w conf_easyjson.go sync_easyjson.go state_easyjson.go start_easyjson.go exec_easyjson.go specdoc_easyjson.go

// marshaler is a type with a generated encoder.
type marshaler interface {
	MarshalEasyJSON(w *jwriter.Writer)
}

// unmarshaler is a type with a generated decoder.
type unmarshaler interface {
	UnmarshalEasyJSON(l *jlexer.Lexer)
}

// encodeJSON encodes v with its generated encoder.
func encodeJSON(v marshaler) ([]byte, error) {
	var w jwriter.Writer
	v.MarshalEasyJSON(&w)
	return w.BuildBytes()
}

// decodeJSON decodes data into v with its generated decoder.
func decodeJSON(data []byte, v unmarshaler) error {
	l := jlexer.Lexer{Data: data}
	v.UnmarshalEasyJSON(&l)
	return l.Error()
}
