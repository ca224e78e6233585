package takumi

// The spike's side (a): takumi's WebAssembly build (@takumi-rs/wasm, a
// wasm-bindgen "web" build) run by wazero, with a Go stand-in for the
// wasm-bindgen JS glue: a small heap of JS-like values behind externref
// handles, and the 47 imports that walk them (serde-wasm-bindgen).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

type (
	jsUndefined struct{}
	jsObj       struct {
		keys []string
		vals map[string]any
	}
	jsArr  struct{ elems []any }
	jsErr  struct{ msg string }
	jsFunc struct{ name string } // Symbol.iterator's function, an iterator's next
	jsSym  struct{}
	jsIter struct {
		arr *jsArr
		i   int
	}
)

func newObj() *jsObj { return &jsObj{vals: map[string]any{}} }

func (o *jsObj) set(k string, v any) {
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

// jsFromJSON decodes JSON into the heap's value types, keeping key order.
func jsFromJSON(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("json: %w", err)
	}
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			a := &jsArr{}
			for dec.More() {
				e, err := jsFromJSON(dec)
				if err != nil {
					return nil, err
				}
				a.elems = append(a.elems, e)
			}
			_, err = dec.Token()
			return a, err
		}
		o := newObj()
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, fmt.Errorf("json: %w", err)
			}
			e, err := jsFromJSON(dec)
			if err != nil {
				return nil, err
			}
			o.set(k.(string), e)
		}
		_, err = dec.Token()
		return o, err
	case nil:
		return nil, nil
	default:
		return v, nil // string, float64, bool
	}
}

// wasmTakumi is one instance of the wasm build with its value heap.
type wasmTakumi struct {
	rt       wazero.Runtime
	mod, tbl api.Module
	heap     []any // handle h is heap[h-1]; handle 0 is null
	base     int
	renderer uint32
	ctx      context.Context
}

func (w *wasmTakumi) put(v any) uint64 {
	w.heap = append(w.heap, v)
	return uint64(len(w.heap))
}

func (w *wasmTakumi) val(h uint64) any {
	if h == 0 || int(h) > len(w.heap) {
		return nil
	}
	return w.heap[h-1]
}

func (w *wasmTakumi) call(name string, args ...uint64) []uint64 {
	res, err := w.mod.ExportedFunction(name).Call(w.ctx, args...)
	if err != nil {
		panic(fmt.Errorf("%s: %w", name, err))
	}
	return res
}

func (w *wasmTakumi) writeString(mod api.Module, retptr uint32, s string) {
	ptr := uint32(w.call("__wbindgen_malloc", uint64(len(s)), 1)[0])
	mod.Memory().Write(ptr, []byte(s))
	mod.Memory().WriteUint32Le(retptr, ptr)
	mod.Memory().WriteUint32Le(retptr+4, uint32(len(s)))
}

func (w *wasmTakumi) readString(mod api.Module, ptr, n uint64) string {
	b, _ := mod.Memory().Read(uint32(ptr), uint32(n))
	return string(b)
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

func isObject(v any) bool {
	switch v.(type) {
	case *jsObj, *jsArr, []byte, *jsErr, *jsIter:
		return true
	}
	return false
}

func (w *wasmTakumi) get(o any, k any) any {
	switch o := o.(type) {
	case *jsObj:
		if s, ok := k.(string); ok {
			if v, ok := o.vals[s]; ok {
				return v
			}
		}
	case *jsArr:
		switch k := k.(type) {
		case float64:
			if i := int(k); i >= 0 && i < len(o.elems) {
				return o.elems[i]
			}
		case jsSym:
			return jsFunc{"iterator"}
		case string:
			if k == "length" {
				return float64(len(o.elems))
			}
		}
	case *jsIter:
		if s, ok := k.(string); ok && s == "next" {
			return jsFunc{"next"}
		}
	}
	return jsUndefined{}
}

func jsString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return fmt.Sprint(v)
	case bool:
		return fmt.Sprint(v)
	case nil:
		return "null"
	case jsUndefined:
		return "undefined"
	case *jsErr:
		return "Error: " + v.msg
	}
	return fmt.Sprintf("%T", v)
}

func (w *wasmTakumi) next(it any) any {
	r := newObj()
	i, ok := it.(*jsIter)
	if !ok || i.i >= len(i.arr.elems) {
		r.set("done", true)
		r.set("value", jsUndefined{})
		return r
	}
	r.set("done", false)
	r.set("value", i.arr.elems[i.i])
	i.i++
	return r
}

// imports are the Go versions of the glue's functions, by name without hash.
func (w *wasmTakumi) imports() map[string]func(mod api.Module, s []uint64) {
	v := w.val
	return map[string]func(api.Module, []uint64){
		"__wbg___wbindgen_is_object":    func(_ api.Module, s []uint64) { s[0] = b2u(isObject(v(s[0]))) },
		"__wbg_get_with_ref_key":        func(_ api.Module, s []uint64) { s[0] = w.put(w.get(v(s[0]), v(s[1]))) },
		"__wbg___wbindgen_is_undefined": func(_ api.Module, s []uint64) { _, ok := v(s[0]).(jsUndefined); s[0] = b2u(ok) },
		"__wbg___wbindgen_in": func(_ api.Module, s []uint64) {
			o, _ := v(s[1]).(*jsObj)
			k, _ := v(s[0]).(string)
			ok := false
			if o != nil {
				_, ok = o.vals[k]
			}
			s[0] = b2u(ok)
		},
		"__wbg___wbindgen_jsval_loose_eq": func(_ api.Module, s []uint64) { s[0] = b2u(looseEq(v(s[0]), v(s[1]))) },
		"__wbg___wbindgen_is_string":      func(_ api.Module, s []uint64) { _, ok := v(s[0]).(string); s[0] = b2u(ok) },
		"__wbg_length":                    func(_ api.Module, s []uint64) { s[0] = uint64(jsLength(v(s[0]))) },
		"__wbg_get":                       func(_ api.Module, s []uint64) { s[0] = w.put(w.get(v(s[0]), float64(uint32(s[1])))) },
		"__wbg_get_unchecked":             func(_ api.Module, s []uint64) { s[0] = w.put(w.get(v(s[0]), float64(uint32(s[1])))) },
		"__wbg___wbindgen_number_get": func(mod api.Module, s []uint64) {
			f, ok := v(s[1]).(float64)
			mod.Memory().WriteFloat64Le(uint32(s[0])+8, f)
			mod.Memory().WriteUint32Le(uint32(s[0]), uint32(b2u(ok)))
		},
		"__wbg___wbindgen_boolean_get": func(_ api.Module, s []uint64) {
			b, ok := v(s[0]).(bool)
			s[0] = 16777215
			if ok {
				s[0] = b2u(b)
			}
		},
		"__wbg_isSafeInteger": func(_ api.Module, s []uint64) {
			f, ok := v(s[0]).(float64)
			s[0] = b2u(ok && f == math.Trunc(f) && math.Abs(f) <= 1<<53-1)
		},
		"__wbg_Number": func(_ api.Module, s []uint64) {
			f, _ := v(s[0]).(float64)
			s[0] = math.Float64bits(f)
		},
		"__wbg_new":                   func(mod api.Module, s []uint64) { s[0] = w.put(&jsErr{w.readString(mod, s[0], s[1])}) },
		"__wbg_Error":                 func(mod api.Module, s []uint64) { s[0] = w.put(&jsErr{w.readString(mod, s[0], s[1])}) },
		"__wbg_next_f31ecb8646d2c605": func(_ api.Module, s []uint64) { s[0] = w.put(w.next(v(s[0]))) },
		"__wbg_done":                  func(_ api.Module, s []uint64) { s[0] = b2u(w.get(v(s[0]), "done") == true) },
		"__wbg_value":                 func(_ api.Module, s []uint64) { s[0] = w.put(w.get(v(s[0]), "value")) },
		"__wbg___wbindgen_is_bigint":  func(_ api.Module, s []uint64) { s[0] = 0 },
		"__wbg___wbindgen_string_get": func(mod api.Module, s []uint64) {
			str, ok := v(s[1]).(string)
			if !ok {
				mod.Memory().WriteUint32Le(uint32(s[0]), 0)
				mod.Memory().WriteUint32Le(uint32(s[0])+4, 0)
				return
			}
			w.writeString(mod, uint32(s[0]), str)
		},
		"__wbg_isArray":              func(_ api.Module, s []uint64) { _, ok := v(s[0]).(*jsArr); s[0] = b2u(ok) },
		"__wbg_iterator":             func(_ api.Module, s []uint64) { s[0] = w.put(jsSym{}) },
		"__wbg_instanceof_Map":       func(_ api.Module, s []uint64) { s[0] = 0 },
		"__wbg_new_bebc3f4757acf305": func(_ api.Module, s []uint64) { s[0] = w.put(newObj()) },
		"__wbg_new_ffa92086ea89f79c": func(_ api.Module, s []uint64) { s[0] = w.put(&jsArr{}) },
		"__wbg_set_13d25b81ab403f5e": func(_ api.Module, s []uint64) {
			a := v(s[0]).(*jsArr)
			i := int(uint32(s[1]))
			for len(a.elems) <= i {
				a.elems = append(a.elems, jsUndefined{})
			}
			a.elems[i] = v(s[2])
		},
		"__wbg_set_6be42768c690e380": func(_ api.Module, s []uint64) {
			if o, ok := v(s[0]).(*jsObj); ok {
				o.set(jsString(v(s[1])), v(s[2]))
			}
		},
		"__wbg___wbindgen_bigint_get_as_i64": func(mod api.Module, s []uint64) {
			mod.Memory().WriteUint64Le(uint32(s[0])+8, 0)
			mod.Memory().WriteUint32Le(uint32(s[0]), 0)
		},
		"__wbg___wbindgen_jsval_eq":    func(_ api.Module, s []uint64) { s[0] = b2u(strictEq(v(s[0]), v(s[1]))) },
		"__wbg_get_6cf5a4d4d8ad3c5a":   func(_ api.Module, s []uint64) { s[0] = w.put(w.get(v(s[0]), v(s[1]))) },
		"__wbg___wbindgen_is_function": func(_ api.Module, s []uint64) { _, ok := v(s[0]).(jsFunc); s[0] = b2u(ok) },
		"__wbg_call": func(_ api.Module, s []uint64) {
			f, _ := v(s[0]).(jsFunc)
			switch f.name {
			case "iterator":
				a, _ := v(s[1]).(*jsArr)
				s[0] = w.put(&jsIter{arr: a})
			case "next":
				s[0] = w.put(w.next(v(s[1])))
			default:
				s[0] = w.put(jsUndefined{})
			}
		},
		"__wbg_next_95053e306b1c3aed": func(_ api.Module, s []uint64) { s[0] = w.put(w.get(v(s[0]), "next")) },
		"__wbg_prototypesetcall": func(mod api.Module, s []uint64) {
			b, _ := v(s[2]).([]byte)
			mod.Memory().Write(uint32(s[0]), b[:min(len(b), int(uint32(s[1])))])
		},
		"__wbg_instanceof_Uint8Array":  func(_ api.Module, s []uint64) { _, ok := v(s[0]).([]byte); s[0] = b2u(ok) },
		"__wbg_instanceof_ArrayBuffer": func(_ api.Module, s []uint64) { s[0] = 0 },
		"__wbg_new_1da3429bc3c4541c": func(_ api.Module, s []uint64) {
			b, _ := v(s[0]).([]byte)
			s[0] = w.put(b)
		},
		"__wbg_entries": func(_ api.Module, s []uint64) {
			a := &jsArr{}
			if o, ok := v(s[0]).(*jsObj); ok {
				for _, k := range o.keys {
					a.elems = append(a.elems, &jsArr{elems: []any{k, o.vals[k]}})
				}
			}
			s[0] = w.put(a)
		},
		"__wbg_String":                  func(mod api.Module, s []uint64) { w.writeString(mod, uint32(s[0]), jsString(v(s[1]))) },
		"__wbg___wbindgen_throw":        func(mod api.Module, s []uint64) { panic(errors.New(w.readString(mod, s[0], s[1]))) },
		"__wbg___wbindgen_debug_string": func(mod api.Module, s []uint64) { w.writeString(mod, uint32(s[0]), jsString(v(s[1]))) },
		"__wbindgen_init_externref_table": func(_ api.Module, _ []uint64) {
			res, err := w.tbl.ExportedFunction("grow").Call(w.ctx, 0, 4)
			if err != nil {
				panic(err)
			}
			off := res[0]
			for i, val := range []any{jsUndefined{}, nil, true, false} {
				w.tableSet(off+uint64(i), val)
			}
			w.tableSet(0, jsUndefined{})
		},
		"__wbindgen_generic_0000000000000001": func(_ api.Module, s []uint64) { s[0] = w.put(math.Float64frombits(s[0])) },
		"__wbindgen_generic_0000000000000002": func(_ api.Module, s []uint64) { s[0] = w.put(float64(int64(s[0]))) },
		"__wbindgen_generic_0000000000000003": func(mod api.Module, s []uint64) { s[0] = w.put(w.readString(mod, s[0], s[1])) },
		"__wbindgen_generic_0000000000000004": func(_ api.Module, s []uint64) { s[0] = w.put(float64(s[0])) },
	}
}

func (w *wasmTakumi) tableSet(i uint64, v any) {
	h := uint64(0)
	if v != nil {
		h = w.put(v)
	}
	if _, err := w.tbl.ExportedFunction("set").Call(w.ctx, i, h); err != nil {
		panic(err)
	}
}

func jsLength(v any) int {
	switch v := v.(type) {
	case *jsArr:
		return len(v.elems)
	case []byte:
		return len(v)
	case string:
		return len(v)
	}
	return 0
}

func strictEq(a, b any) bool {
	switch a.(type) {
	case *jsObj, *jsArr, *jsIter, *jsErr:
		return a == b
	case []byte:
		return false
	}
	return a == b
}

func looseEq(a, b any) bool {
	nullish := func(v any) bool { _, u := v.(jsUndefined); return u || v == nil }
	if nullish(a) || nullish(b) {
		return nullish(a) && nullish(b)
	}
	return strictEq(a, b)
}

// tableModule is a hand-assembled wasm module importing takumi's externref
// table and exporting set, grow and get: wazero has no host API for tables.
var tableModule = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
	// types: (i32 externref)->(), (externref i32)->i32, (i32)->externref
	0x01, 0x11, 0x03, 0x60, 0x02, 0x7f, 0x6f, 0x00, 0x60, 0x02, 0x6f, 0x7f, 0x01, 0x7f, 0x60, 0x01, 0x7f, 0x01, 0x6f,
	// import takumi.__wbindgen_externrefs (table externref min 0)
	0x02, 0x22, 0x01, 0x06, 't', 'a', 'k', 'u', 'm', 'i', 0x15,
	'_', '_', 'w', 'b', 'i', 'n', 'd', 'g', 'e', 'n', '_', 'e', 'x', 't', 'e', 'r', 'n', 'r', 'e', 'f', 's',
	0x01, 0x6f, 0x00, 0x00,
	// functions
	0x03, 0x04, 0x03, 0x00, 0x01, 0x02,
	// exports set, grow, get
	0x07, 0x14, 0x03, 0x03, 's', 'e', 't', 0x00, 0x00, 0x04, 'g', 'r', 'o', 'w', 0x00, 0x01, 0x03, 'g', 'e', 't', 0x00, 0x02,
	// code
	0x0a, 0x1b, 0x03,
	0x08, 0x00, 0x20, 0x00, 0x20, 0x01, 0x26, 0x00, 0x0b,
	0x09, 0x00, 0x20, 0x00, 0x20, 0x01, 0xfc, 0x0f, 0x00, 0x0b,
	0x06, 0x00, 0x20, 0x00, 0x25, 0x00, 0x0b,
}

func wasmPath() string {
	return filepath.Join(defaultHelperDir(), "node_modules", "@takumi-rs", "wasm", "pkg", "takumi_wasm_bg.wasm")
}

// newWasmTakumi instantiates the build in its own runtime (compiled code
// shared through cache), registers fonts and makes a renderer.
func newWasmTakumi(ctx context.Context, cache wazero.CompilationCache, wasm []byte, fonts []string) (*wasmTakumi, error) {
	w := &wasmTakumi{ctx: ctx}
	w.rt = wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(cache))
	cm, err := w.rt.CompileModule(ctx, wasm)
	if err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	impls := w.imports()
	host := w.rt.NewHostModuleBuilder("./takumi_wasm_bg.js")
	for _, f := range cm.ImportedFunctions() {
		_, name, _ := f.Import()
		impl := impls[name]
		if impl == nil {
			if i := strings.LastIndex(name, "_"); i > 0 {
				impl = impls[name[:i]]
			}
		}
		if impl == nil {
			return nil, fmt.Errorf("no Go version of import %s", name)
		}
		host.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, s []uint64) { impl(mod, s) }),
			f.ParamTypes(), f.ResultTypes()).Export(name)
	}
	if _, err := host.Instantiate(ctx); err != nil {
		return nil, fmt.Errorf("host module: %w", err)
	}
	if w.mod, err = w.rt.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithName("takumi").WithStartFunctions()); err != nil {
		return nil, fmt.Errorf("instantiate: %w", err)
	}
	if w.tbl, err = w.rt.InstantiateWithConfig(ctx, tableModule, wazero.NewModuleConfig().WithName("tbl")); err != nil {
		return nil, fmt.Errorf("table module: %w", err)
	}
	w.call("__wbindgen_start")
	res := w.call("renderer_new", 0)
	if res[2] != 0 {
		return nil, fmt.Errorf("renderer_new: %s", w.tableErr(res[1]))
	}
	w.renderer = uint32(res[0])
	for _, f := range fonts {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("font: %w", err)
		}
		if res := w.call("renderer_registerFont", uint64(w.renderer), w.put(b)); res[2] != 0 {
			return nil, fmt.Errorf("registerFont %s: %s", f, w.tableErr(res[1]))
		}
	}
	w.base = len(w.heap)
	return w, nil
}

func (w *wasmTakumi) tableErr(idx uint64) string {
	res, err := w.tbl.ExportedFunction("get").Call(w.ctx, idx)
	if err != nil {
		return err.Error()
	}
	return jsString(w.val(res[0]))
}

// render renders a node tree (fromHtml's result, as JSON) to PNG.
func (w *wasmTakumi) render(nodeJSON []byte, width, height int) ([]byte, error) {
	defer func() { w.heap = w.heap[:w.base] }()
	root, err := jsFromJSON(json.NewDecoder(bytes.NewReader(nodeJSON)))
	if err != nil {
		return nil, err
	}
	r := root.(*jsObj)
	opts := newObj()
	opts.set("width", float64(width))
	opts.set("height", float64(height))
	opts.set("format", "png")
	opts.set("css", r.vals["css"])
	idx := w.call("__externref_table_alloc")[0]
	w.tableSet(idx, opts)
	res := w.call("renderer_render", uint64(w.renderer), w.put(r.vals["node"]), idx)
	if res[3] != 0 {
		return nil, fmt.Errorf("render: %s", w.tableErr(res[2]))
	}
	out, ok := w.mod.Memory().Read(uint32(res[0]), uint32(res[1]))
	if !ok {
		return nil, errors.New("render: result out of memory bounds")
	}
	img := bytes.Clone(out)
	w.call("__wbindgen_free", res[0], res[1], 1)
	return img, nil
}

// nodeJSON converts html to takumi's node tree with @takumi-rs/helpers'
// fromHtml (the JS part the wasm build needs; see BENCHMARKS.md).
func nodeJSON(t testing.TB, html string) []byte {
	t.Helper()
	cmd := exec.Command("node", "-e", `const {fromHtml}=require("@takumi-rs/helpers/html");`+
		`let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.stringify(fromHtml(s))))`)
	cmd.Dir = defaultHelperDir()
	cmd.Stdin = strings.NewReader(html)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("fromHtml: %v", err)
	}
	return out
}

// setupWasm makes four wasm instances (one per client) and returns a
// render of the card on a free one; it checks the image against (b)'s.
func setupWasm(t *testing.T, html string, nativeImg []byte) func() error {
	ctx := context.Background()
	wasm, err := os.ReadFile(wasmPath())
	if err != nil {
		t.Fatalf("wasm build missing (npm ci in %s): %v", defaultHelperDir(), err)
	}
	cache := wazero.NewCompilationCache()
	t0 := time.Now()
	first, err := newWasmTakumi(ctx, cache, wasm, spikeFonts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("(a) wasm: compile + instantiate + fonts, first instance: %v", time.Since(t0))
	t0 = time.Now()
	pool := make(chan *wasmTakumi, 4)
	pool <- first
	for range 3 {
		w, err := newWasmTakumi(ctx, cache, wasm, spikeFonts)
		if err != nil {
			t.Fatal(err)
		}
		pool <- w
	}
	t.Logf("(a) wasm: instantiate + fonts with compiled code cached: %v each", time.Since(t0)/3)
	t0 = time.Now()
	if _, err := newWasmTakumi(ctx, cache, wasm, DefaultFonts()); err != nil {
		t.Fatal(err)
	}
	t.Logf("(a) wasm: instantiate with all %d default fonts (CJK, emoji): %v", len(DefaultFonts()), time.Since(t0))
	nj := nodeJSON(t, html)
	img, err := first.render(nj, 1200, 630)
	if err != nil {
		t.Fatal(err)
	}
	diff, total := pixelDiff(t, img, nativeImg)
	t.Logf("(a) vs (b) image: %d of %d pixels differ by more than 8/255", diff, total)
	return func() error {
		w := <-pool
		defer func() { pool <- w }()
		_, err := w.render(nj, 1200, 630)
		return err
	}
}
