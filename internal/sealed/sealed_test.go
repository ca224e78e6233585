package sealed_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/renderhook/renderhook/internal/sealed"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, sealed.KeySize) }

func TestSealOpenRotate(t *testing.T) {
	old, err := sealed.New(key(1))
	if err != nil {
		t.Fatal(err)
	}
	v, err := old.Seal("wJalrXUtnFEMI/K7MDENG", "spc_a")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(v, "wJalr") {
		t.Fatalf("sealed value shows the plain text: %s", v)
	}
	if got, err := old.Open(v, "spc_a"); err != nil || got != "wJalrXUtnFEMI/K7MDENG" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := old.Open(v, "spc_b"); !errors.Is(err, sealed.ErrOpen) {
		t.Fatalf("another owner's Open: %v, want ErrOpen", err)
	}
	// Rotation: the new key seals, the old one still opens.
	ring, err := sealed.New(key(2), key(1))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ring.Open(v, "spc_a"); err != nil || got != "wJalrXUtnFEMI/K7MDENG" {
		t.Fatalf("rotated ring Open = %q, %v", got, err)
	}
	if ring.Primary(v) {
		t.Fatal("a value sealed under the old key counts as primary")
	}
	v2, _ := ring.Seal("s", "spc_a")
	if !ring.Primary(v2) {
		t.Fatal("a new value is not under the primary key")
	}
	if _, err := old.Open(v2, "spc_a"); !errors.Is(err, sealed.ErrOpen) {
		t.Fatalf("old ring opened a value of the new key: %v", err)
	}
	var none *sealed.Ring
	if _, err := none.Seal("x", "y"); !errors.Is(err, sealed.ErrNoKey) {
		t.Fatalf("nil ring Seal: %v", err)
	}
}

func TestParseKeys(t *testing.T) {
	hexKey := strings.Repeat("ab", 32)
	r, err := sealed.ParseKeys(" " + hexKey + " ,")
	if err != nil || !r.Enabled() {
		t.Fatalf("ParseKeys: %v", err)
	}
	if r, err := sealed.ParseKeys(""); err != nil || r.Enabled() {
		t.Fatalf("empty: %v %v", r, err)
	}
	if _, err := sealed.ParseKeys("short"); err == nil {
		t.Fatal("a short key was accepted")
	}
}

func FuzzOpen(f *testing.F) {
	r, _ := sealed.New(key(3))
	v, _ := r.Seal("secret", "o")
	f.Add(v)
	f.Add("v1.00000000.AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		if got, err := r.Open(s, "o"); err == nil && s != v && got == "" {
			t.Fatalf("opened %q", s)
		}
	})
}
