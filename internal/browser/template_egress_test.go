package browser

import (
	"context"
	"net/http"
	"net/netip"
	"testing"

	"github.com/renderhook/renderhook/internal/egress"
)

// TestRenderTemplateEgress: a template render's page goes through the
// guard too, so an image URL a template value carries cannot reach a
// refused address (here 127.0.0.2, standing in for 169.254.169.254 or a
// private range), while an allowed one loads.
func TestRenderTemplateEgress(t *testing.T) {
	img := pngPage(t, 10, 10, green)
	allowed := newSite(t, "127.0.0.1:0", map[string]http.HandlerFunc{"/i.png": img})
	refused := newSite(t, "127.0.0.2:0", map[string]http.HandlerFunc{"/i.png": img})
	g, err := egress.New(egress.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	if err != nil {
		t.Fatal(err)
	}
	p := newPool(t, Config{MaxTabs: 1, Egress: g})
	page := func(src string) Page {
		return Page{Width: 40, Height: 20, HTML: `<body style="margin:0;background:rgb(0,0,255)">` +
			`<img style="position:absolute;left:0;top:0;width:20px;height:20px" src="` + src + `">`}
	}

	res, err := p.Render(context.Background(), pngRequest(page(allowed.URL+"/i.png")))
	if err != nil {
		t.Fatal(err)
	}
	shot := decodePNG(t, res.Data)
	wantPixel(t, shot, 5, 5, green) // the allowed image loaded, through the proxy
	wantPixel(t, shot, 35, 5, blue)

	res, err = p.Render(context.Background(), pngRequest(page(refused.URL+"/i.png")))
	if err != nil {
		t.Fatal(err)
	}
	shot = decodePNG(t, res.Data)
	if got := pixelAt(shot, 5, 5); got == green {
		t.Error("the image from the refused address was drawn")
	}
	if n := refused.totalHits(); n != 0 {
		t.Errorf("the refused server was reached %d times", n)
	}
	if n := allowed.hitsOf("/i.png"); n != 1 {
		t.Errorf("the allowed server served the image %d times, want 1", n)
	}
}
