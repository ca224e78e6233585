package api_test

import (
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/renderhook/renderhook/internal/render"
)

// sdkTypes is urlbox-node v2.2.0's src/types.ts (MIT, LICENSE.txt beside
// it): the options Urlbox's SDK lets a client send.
const sdkTypes = "../../third_party/urlbox-node/types.ts"

// minAccepted is how many of the SDK's options, each sent alone, this
// branch renders; raise it as options are implemented.
const minAccepted = 205 // 125, the 21 video_* options, 19 of v1_capture.go, 24 of urlbox-wm, 16 of v1_xpath.go

// sdkOption is one RenderOptions name and its TypeScript type.
type sdkOption struct{ name, typ string }

// sdkOptions reads the option names of RenderOptions (CommonOptions) and
// their types from types.ts, with its enum arrays.
func sdkOptions(t *testing.T) ([]sdkOption, map[string][]string) {
	t.Helper()
	b, err := os.ReadFile(sdkTypes)
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	i, j := strings.Index(src, "type CommonOptions = Partial<{"), strings.Index(src, "}>;")
	if i < 0 || j < i {
		t.Fatal("types.ts has no CommonOptions block")
	}
	var opts []sdkOption
	field := regexp.MustCompile(`^\s{2}([a-z0-9_]+):\s*(.*)$`)
	for _, line := range strings.Split(src[i:j], "\n") {
		if m := field.FindStringSubmatch(line); m != nil {
			opts = append(opts, sdkOption{m[1], strings.TrimSuffix(m[2], ";")})
		} else if s := strings.TrimSpace(line); strings.HasPrefix(s, "|") && len(opts) > 0 {
			opts[len(opts)-1].typ += " " + strings.TrimSuffix(s, ";") // a union over several lines
		}
	}
	enums := map[string][]string{}
	for _, m := range regexp.MustCompile(`(?s)const (\w+) = \[(.*?)\] as const`).FindAllStringSubmatch(src, -1) {
		for _, v := range regexp.MustCompile(`"([^"]*)"`).FindAllStringSubmatch(m[2], -1) {
			enums[m[1]] = append(enums[m[1]], v[1])
		}
	}
	return opts, enums
}

// sdkOverrides are plausible values (and the options they need) where the
// TypeScript type alone does not give one.
var sdkOverrides = map[string]map[string]any{
	"quality":                  {"format": "jpeg", "quality": 80},
	"transparent":              {"transparent": true},
	"width":                    {"width": 800},
	"height":                   {"height": 600},
	"thumb_width":              {"thumb_width": 200},
	"thumb_height":             {"thumb_height": 150},
	"timeout":                  {"timeout": 30000},
	"delay":                    {"delay": 10},
	"wait_timeout":             {"wait_timeout": 5000},
	"scroll_delay":             {"scroll_delay": 10},
	"max_height":               {"max_height": 2000},
	"scroll_increment":         {"scroll_increment": 400},
	"ttl":                      {"ttl": 60},
	"latitude":                 {"latitude": 48.85, "longitude": 2.35},
	"longitude":                {"latitude": 48.85, "longitude": 2.35},
	"accuracy":                 {"latitude": 48.85, "longitude": 2.35, "accuracy": 10},
	"pdf_page_width":           {"format": "pdf", "pdf_page_width": 210, "pdf_page_height": 297},
	"pdf_page_height":          {"format": "pdf", "pdf_page_width": 210, "pdf_page_height": 297},
	"pdf_scale":                {"format": "pdf", "pdf_scale": 1},
	"pdf_page_range":           {"format": "pdf", "pdf_page_range": "1-2"},
	"media":                    {"format": "pdf", "media": "screen"},
	"header":                   {"header": []string{"X-One: 1", "X-Two: 2"}},
	"cookie":                   {"url": "https://example.com/", "cookie": []string{"a=1", "b=2"}},
	"click":                    {"click": []string{"#open", ".more"}},
	"click_all":                {"click_all": []string{".more"}},
	"hover":                    {"hover": "#menu"},
	"block_urls":               {"block_urls": []string{"*.ads.example/*"}},
	"hide_selector":            {"hide_selector": ".ad"},
	"selector":                 {"selector": "p"},
	"wait_for":                 {"wait_for": "p"},
	"wait_to_leave":            {"wait_to_leave": ".spinner"},
	"fail_if_selector_missing": {"fail_if_selector_missing": "p"},
	"fail_if_selector_present": {"fail_if_selector_present": ".error"},
	"bg_color":                 {"bg_color": "#ff0000"},
	"highlightfg":              {"highlightfg": "white"},
	"highlightbg":              {"highlightbg": "red"},
	"css":                      {"css": "p{color:red}"},
	"js":                       {"js": "document.title = 'x'"},
	"tz":                       {"tz": "Europe/Paris"},
	"accept_lang":              {"accept_lang": "fr-FR"},
	"referer":                  {"referer": "https://ref.example/"},
	"referrer":                 {"referrer": "https://ref.example/"},
	"webhook_url":              {"webhook_url": "https://hooks.example.com/sdk"},
	"user_agent":               {"user_agent": "sdk-test/1"},
	"download":                 {"download": "shot.png", "response_type": "json"},
	"clip":                     {"clip": "0,0,100,100"},
	"scroll_to":                {"scroll_to": "100"},
	"redirect_after":           {"redirect_after": 60},
	// Options that go with another (Urlbox's too), given their companion.
	"img_fit":            {"img_fit": "cover", "thumb_width": 100, "thumb_height": 100},
	"img_position":       {"img_position": "top", "img_fit": "cover", "thumb_width": 100, "thumb_height": 100},
	"img_bg":             {"img_bg": "#ffffff", "img_pad": "4"},
	"max_width":          {"max_width": 800, "full_page": true, "full_width": true},
	"full_page_mode":     {"full_page_mode": "stitch", "full_page": true},
	"max_section_height": {"max_section_height": 512, "full_page": true, "full_page_mode": "stitch"},
	"detect_full_height": {"detect_full_height": true, "full_page": true},
	"allow_infinite":     {"allow_infinite": true, "lazyload": true},
	"pdf_dpi":            {"pdf_dpi": 96, "format": "pdf"},
	"watermark_bgcolor":  {"watermark_bgcolor": "#000000", "watermark_text": "sdk"},
	"watermark_opacity":  {"watermark_opacity": 0.5, "watermark_text": "sdk"},
	"watermark_position": {"watermark_position": "center", "watermark_text": "sdk"},
	"proxy":              {"proxy": "http://user:pass@proxy.example.com:3128"},
	// The video options, with the format they apply to.
	"video_width":                {"format": "mp4", "video_width": 640},
	"video_height":               {"format": "mp4", "video_height": 360},
	"video_quality":              {"format": "mp4", "video_quality": 70},
	"video_preset":               {"format": "mp4", "video_preset": "fast"},
	"video_bitrate":              {"format": "mp4", "video_bitrate": 800},
	"video_bits_per_second":      {"format": "webm", "video_bits_per_second": 800_000},
	"video_time":                 {"format": "mp4", "video_time": 3},
	"video_aspect":               {"format": "mp4", "video_aspect": 1.5},
	"video_fps":                  {"format": "webm", "video_fps": 24},
	"video_ease":                 {"format": "mp4", "video_ease": "cubic.inout"},
	"video_ease_end":             {"format": "mp4", "video_ease_end": "cubic.out", "video_scroll_back_duration": 500},
	"video_prescroll_duration":   {"format": "mp4", "video_prescroll_duration": 500},
	"video_scroll_duration":      {"format": "mp4", "video_scroll_duration": 2000},
	"video_rest_duration":        {"format": "mp4", "video_rest_duration": 500},
	"video_scroll_back_duration": {"format": "mp4", "video_scroll_back_duration": 1000},
	"video_postscroll_duration":  {"format": "mp4", "video_postscroll_duration": 500},
	"video_scroll_distance":      {"format": "mp4", "video_scroll_distance": 800},
	"video_scroll":               {"format": "mp4", "video_scroll": true},
	"video_chrome_height":        {"format": "mp4", "video_chrome_height": 80},
	"video_crop_w":               {"format": "mp4", "video_crop_w": 600},
	"video_jitter":               {"format": "mp4", "video_jitter": 5},
	// The full-page options of v1_capture.go, with their companions.
	"freeze_fixed":         {"freeze_fixed": true, "full_page": true},
	"fix_full_height":      {"fix_full_height": true, "full_page": true},
	"sharp_stitch":         {"sharp_stitch": true, "full_page": true, "full_page_mode": "stitch"},
	"show_sections":        {"show_sections": true, "full_page": true, "full_page_mode": "stitch"},
	"show_seams":           {"show_seams": true, "full_page": true, "full_page_mode": "stitch"},
	"max_sections":         {"max_sections": 4, "full_page": true, "full_page_mode": "stitch"},
	"max_section_width":    {"max_section_width": 400, "full_page": true, "full_width": true, "full_page_mode": "stitch"},
	"max_xsections":        {"max_xsections": 2, "full_page": true, "full_width": true, "full_page_mode": "stitch"},
	"max_scroll_page_time": {"max_scroll_page_time": 5000, "lazyload": true},
	"width_from":           {"width_from": "p"},
	"height_from":          {"height_from": "p"},
	"watermark_url":        {"watermark_url": "https://img.example.com/logo.png"},
	"watermark_width":      {"watermark_url": "https://img.example.com/logo.png", "watermark_width": "120"},
	"watermark_height":     {"watermark_url": "https://img.example.com/logo.png", "watermark_height": "25%"},
	"watermark_blend":      {"watermark_text": "sdk", "watermark_blend": "multiply"},
	"watermark_repeat":     {"watermark_text": "sdk", "watermark_repeat": "repeat"},
	"watermark_angle":      {"watermark_text": "sdk", "watermark_angle": "45"},
	"watermark_style":      {"watermark_text": "sdk", "watermark_style": "opacity: 0.8; transform: rotate(30deg)"},
	// XPath and page-behaviour options (v1_xpath.go).
	"hide_selector_x":      {"hide_selector_x": []string{"//div[@class='ad']"}},
	"wait_for_x":           {"wait_for_x": "//p"},
	"wait_to_leave_x":      {"wait_to_leave_x": "//*[@class='spinner']"},
	"click_x":              {"click_x": []string{"//button[1]"}},
	"click_all_x":          {"click_all_x": []string{"//*[contains(@class, 'more')]"}},
	"hover_x":              {"hover_x": "//*[@id='menu']"},
	"scroll_to_x":          {"scroll_to_x": "//footer"},
	"disable_events":       {"disable_events": []string{"scroll", "resize"}},
	"base_url":             {"base_url": "https://cdn.example.com/assets/"},
	"custom_data_variable": {"custom_data_variable": "app.state"},
}

// sdkValue is a plausible value of an option of TypeScript type typ.
func sdkValue(typ string, enums map[string][]string) any {
	if m := regexp.MustCompile(`^\(typeof (\w+)\)\[number\]$`).FindStringSubmatch(typ); m != nil {
		return enums[m[1]][0]
	}
	if m := regexp.MustCompile(`^"([^"]*)"`).FindStringSubmatch(typ); m != nil {
		return m[1] // a union of literals: its first
	}
	switch {
	case strings.HasPrefix(typ, "boolean"):
		return true
	case typ == "number":
		return 1
	case typ == "string | string[]":
		return []string{"a", "b"}
	}
	return "1" // string, string | number, any
}

// TestUrlboxSDKOptions sends each of urlbox-node's RenderOptions alone to
// POST /v1/render/sync: each is rendered (the parser took it and the
// browser was asked) or refused with a 400 InvalidOptions naming it, never
// anything else, and each is a row of the option table.
func TestUrlboxSDKOptions(t *testing.T) {
	opts, enums := sdkOptions(t)
	if len(opts) != 225 { // 224 besides url, html and format
		t.Fatalf("types.ts has %d options, want 225 (224 and format)", len(opts))
	}
	rows := map[string]render.OptionSpec{}
	for _, o := range render.V1Options() {
		rows[o.Name] = o
	}
	e := setupUploads(t)
	s3 := newS3Receiver(t)
	_, tok := e.newSpace("sdk")
	var accepted, refused []string
	for _, o := range opts {
		if o.name == "format" {
			continue
		}
		if _, ok := rows[o.name]; !ok {
			t.Errorf("option %q of the SDK is not a row of the option table", o.name)
		}
		body := map[string]any{"html": "<p>" + o.name + "</p>", o.name: sdkValue(o.typ, enums)}
		if strings.HasPrefix(o.name, "pdf_") {
			body["format"] = "pdf"
		}
		for k, v := range sdkOverrides[o.name] {
			body[k] = v
		}
		s3.fill(o.name, body)
		if _, ok := body["url"]; ok {
			delete(body, "html")
		}
		before := e.browser.urlRenders.Load()
		res := e.do(request{method: "POST", target: "/v1/render/sync", body: body, header: http.Header{"Authorization": {"Bearer " + tok}}})
		switch rendered := e.browser.urlRenders.Load() > before; {
		case res.Status == 200 && rendered && rows[o.name].Supported:
			if why := s3.check(o.name, res.Body, tinyPNG); why != "" {
				t.Errorf("%s was answered 200, but its upload is %s", o.name, why)
				continue
			}
			accepted = append(accepted, o.name)
		case res.Status == 400 && !rendered:
			var m struct {
				Error struct{ Code, Message string }
			}
			_ = json.Unmarshal(res.Body, &m)
			if m.Error.Code != "InvalidOptions" || !strings.Contains(m.Error.Message, `option "`+o.name+`"`) {
				t.Errorf("%s: 400 %s does not name the option", o.name, res.Body)
			}
			if rows[o.name].Supported {
				t.Logf("%s is supported, but the harness's value %v was refused: %s", o.name, body, m.Error.Message)
			}
			refused = append(refused, o.name)
		default:
			t.Errorf("%s: %d (rendered %v): %s", o.name, res.Status, rendered, res.Body)
		}
	}
	sort.Strings(refused)
	t.Logf("%d of %d SDK options accepted; refused: %s", len(accepted), len(accepted)+len(refused), strings.Join(refused, " "))
	if len(accepted) < minAccepted {
		t.Errorf("%d SDK options accepted, want at least %d", len(accepted), minAccepted)
	}
}
