package libstart

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fill sets every exported field reachable from v to a non-zero value, so
// that a field the generated codec does not know is lost in a round trip.
func fill(v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.Pointer:
		if depth > 6 {
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		fill(v.Elem(), depth+1)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2026, 12, 1, 10, 0, 0, 5, time.UTC)))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() && v.Type().Field(i).Tag.Get("json") != "-" {
				fill(v.Field(i), depth)
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes([]byte{1, 2, 3})
			return
		}
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := 0; i < 2; i++ {
			fill(s.Index(i), depth)
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, depth)
		fill(e, depth)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.String:
		v.SetString("s<&>\"\n" + v.Type().Name())
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(-7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		v.SetUint(0x80 | 7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	}
}

// codecTypes are the types with generated codecs.
var codecTypes = []struct {
	name string
	make func() any
}{
	{"State", func() any { return new(State) }},
	{"Conf", func() any { return new(Conf) }},
	{"Process", func() any { return new(Process) }},
	{"initMsg", func() any { return new(initMsg) }},
	{"execMsg", func() any { return new(execMsg) }},
	{"StageError", func() any { return new(StageError) }},
}

// TestCodecRoundTrip: every field survives the generated encoder and
// decoder. A field added without `make generate` fails here.
func TestCodecRoundTrip(t *testing.T) {
	for _, tt := range codecTypes {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.make()
			fill(reflect.ValueOf(in), 0)
			data, err := encodeJSON(in.(marshaler))
			if err != nil {
				t.Fatal(err)
			}
			out := tt.make()
			if err := decodeJSON(data, out.(unmarshaler)); err != nil {
				t.Fatalf("decode %s: %v", data, err)
			}
			if !reflect.DeepEqual(in, out) {
				t.Errorf("round trip lost data:\n in %+v\nout %+v\njson %s", in, out, data)
			}
		})
	}
}

// TestCodecMatchesEncodingJSON: the generated code reads what
// encoding/json writes, and encoding/json reads what it writes, so
// state.json keeps one layout whichever side wrote it.
func TestCodecMatchesEncodingJSON(t *testing.T) {
	for _, tt := range codecTypes {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.make()
			fill(reflect.ValueOf(in), 0)
			// encoding/json would call the generated MarshalJSON;
			// hide it behind a plain struct of the same fields.
			std, err := json.Marshal(plainOf(in))
			if err != nil {
				t.Fatal(err)
			}
			out := tt.make()
			if err := decodeJSON(std, out.(unmarshaler)); err != nil {
				t.Fatalf("generated decoder on encoding/json output: %v", err)
			}
			if !reflect.DeepEqual(in, out) {
				t.Errorf("generated decoder read encoding/json output differently:\n in %+v\nout %+v", in, out)
			}
			gen, _ := encodeJSON(in.(marshaler))
			back := reflect.New(reflect.TypeOf(plainOf(in)).Elem()).Interface()
			if err := json.Unmarshal(gen, back); err != nil {
				t.Fatalf("encoding/json on generated output: %v", err)
			}
			if !reflect.DeepEqual(back, plainOf(in)) {
				t.Errorf("encoding/json read generated output differently:\n%s", gen)
			}
		})
	}
}

// plainOf copies v into a struct type with the same fields and tags but
// without methods, so that encoding/json uses reflection on it. Nested
// generated types keep their methods, which is what encoding/json would
// meet too; their own rows in codecTypes cover them.
func plainOf(v any) any {
	rv := reflect.ValueOf(v).Elem()
	fields := make([]reflect.StructField, 0, rv.NumField())
	for i := 0; i < rv.NumField(); i++ {
		if f := rv.Type().Field(i); f.IsExported() {
			fields = append(fields, f)
		}
	}
	pt := reflect.StructOf(fields)
	p := reflect.New(pt)
	for _, f := range fields {
		p.Elem().FieldByName(f.Name).Set(rv.FieldByName(f.Name))
	}
	return p.Interface()
}

// TestSpecDocFields: specDoc has every field of specs.Spec, with its type
// and JSON name, but the other platforms' sections. A field added to the
// spec module would otherwise send every document that uses it down the
// slow path, or (if it were added here without its copy) lose it.
func TestSpecDocFields(t *testing.T) {
	others := map[string]bool{"Solaris": true, "Windows": true, "VM": true, "ZOS": true, "FreeBSD": true}
	want := map[string]reflect.StructField{}
	st := reflect.TypeFor[specs.Spec]()
	for i := 0; i < st.NumField(); i++ {
		if f := st.Field(i); !others[f.Name] {
			want[f.Name] = f
		}
	}
	dt := reflect.TypeFor[specDoc]()
	if dt.NumField() != len(want) {
		t.Errorf("specDoc has %d fields, specs.Spec %d besides other platforms'", dt.NumField(), len(want))
	}
	for i := 0; i < dt.NumField(); i++ {
		f := dt.Field(i)
		w, ok := want[f.Name]
		if !ok || f.Type != w.Type || f.Tag.Get("json") != w.Tag.Get("json") {
			t.Errorf("specDoc.%s (%v, json %q) does not match specs.Spec", f.Name, f.Type, f.Tag.Get("json"))
		}
	}
	// And decodeSpecFast copies every one of them.
	var d specDoc
	fill(reflect.ValueOf(&d), 0)
	data, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := decodeSpecFast(data)
	if !ok {
		t.Fatalf("a filled specDoc takes the slow path: %s", data)
	}
	var std specs.Spec
	if err := json.Unmarshal(data, &std); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*got, std) {
		t.Errorf("decodeSpecFast lost data:\n got %+v\nwant %+v", *got, std)
	}
}

// TestDecodeSpecOtherPlatforms: a section for another platform sends the
// document to encoding/json, which keeps it, as runc would.
func TestDecodeSpecOtherPlatforms(t *testing.T) {
	doc := []byte(`{"ociVersion":"1.0.2","process":{"args":["sh"],"cwd":"/"},"vm":{"hypervisor":{"path":"/hv"}}}`)
	if _, ok := decodeSpecFast(doc); ok {
		t.Fatal("the generated decoder took a document with a vm section")
	}
	spec, err := DecodeSpec(doc)
	if err != nil || spec.VM == nil || spec.VM.Hypervisor.Path != "/hv" || spec.Process == nil {
		t.Fatalf("DecodeSpec = %+v, %v", spec, err)
	}
}
