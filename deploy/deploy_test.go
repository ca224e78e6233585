// Package deploy holds the deployment examples (compose.yaml, the
// Prometheus configuration and alert rules, the Grafana dashboard and its
// provisioning); its tests check them without a container engine: every
// file parses, every path compose mounts exists, the alert rules pass
// promtool (when it is installed) and their own unit tests, and the
// dashboard and alerts use only the metric families renderhook exports.
package deploy

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// families are the metric families of /metrics (the names agreed for issue
// 17, implemented in internal/metrics) plus the standard collectors' and
// Prometheus's own that the examples use.
var families = []string{
	"renderhook_render_duration_seconds",
	"renderhook_renders_total",
	"renderhook_render_cache_hits_total",
	"renderhook_browser_tab_wait_seconds",
	"renderhook_browser_queue_length",
	"renderhook_browser_tabs",
	"renderhook_browser_spare_contexts",
	"renderhook_browser_restarts_total",
	"renderhook_browser_crashes_total",
	"renderhook_browser_rss_bytes",
	"renderhook_river_jobs",
	"renderhook_webhook_deliveries_total",
	"renderhook_webhook_attempt_duration_seconds",
	"renderhook_webhook_endpoints_parked",
	"renderhook_webhook_endpoint_cap_reached_total",
	"renderhook_credits_billed_total",
	"renderhook_callbacks_retried_total",
	"renderhook_http_requests_total",
	"renderhook_http_request_duration_seconds",
}

var otherSeries = []string{"go_goroutines", "process_resident_memory_bytes", "process_cpu_seconds_total", "up"}

// known reports whether a series name in an expression is one /metrics
// serves: a family, or a histogram family's _bucket, _sum or _count.
func known(name string) bool {
	if slices.Contains(families, name) || slices.Contains(otherSeries, name) {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && strings.HasSuffix(base, "_seconds") && slices.Contains(families, base) {
			return true
		}
	}
	return false
}

var seriesName = regexp.MustCompile(`\b((?:renderhook|go|process)_[a-z_]+|up)\b`)

// names are the series names an expression reads.
func names(expr string) []string {
	return seriesName.FindAllString(expr, -1)
}

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

type compose struct {
	Services map[string]struct {
		Image   string   `yaml:"image"`
		Volumes []string `yaml:"volumes"`
		Ports   []string `yaml:"ports"`
		Command any      `yaml:"command"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

// TestCompose: compose.yaml parses, has the Prometheus and Grafana
// services, and every file or folder it mounts exists here; named volumes
// are declared.
func TestCompose(t *testing.T) {
	var c compose
	readYAML(t, "compose.yaml", &c)
	for _, name := range []string{"prometheus", "grafana", "api-1", "worker-1"} {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("compose.yaml has no %s service", name)
		}
	}
	mounts := map[string]bool{}
	for name, s := range c.Services {
		for _, v := range s.Volumes {
			src, dst, _ := strings.Cut(v, ":")
			mounts[strings.SplitN(dst, ":", 2)[0]] = true
			if strings.HasPrefix(src, ".") {
				if _, err := os.Stat(src); err != nil {
					t.Errorf("service %s mounts %s, which is not in deploy/: %v", name, src, err)
				}
				continue
			}
			if _, ok := c.Volumes[src]; !ok {
				t.Errorf("service %s uses volume %q, which compose.yaml does not declare", name, src)
			}
		}
	}
	for _, dst := range []string{"/etc/prometheus/prometheus.yml", "/etc/prometheus/alerts.yml", "/etc/grafana/provisioning", "/etc/grafana/dashboards"} {
		if !mounts[dst] {
			t.Errorf("nothing is mounted at %s", dst)
		}
	}
}

type promConfig struct {
	RuleFiles     []string `yaml:"rule_files"`
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		MetricsPath   string `yaml:"metrics_path"`
		StaticConfigs []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
	} `yaml:"scrape_configs"`
}

// TestPrometheusConfig: the scrape targets are renderhook services of
// compose.yaml, and the rule file it loads is the one compose mounts.
func TestPrometheusConfig(t *testing.T) {
	var c compose
	readYAML(t, "compose.yaml", &c)
	var p promConfig
	readYAML(t, "prometheus/prometheus.yml", &p)
	if !slices.Contains(p.RuleFiles, "/etc/prometheus/alerts.yml") {
		t.Errorf("prometheus.yml loads %v, not the mounted alerts.yml", p.RuleFiles)
	}
	found := false
	for _, sc := range p.ScrapeConfigs {
		if sc.JobName != "renderhook" {
			continue
		}
		found = true
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				host, _, _ := strings.Cut(target, ":")
				if _, ok := c.Services[host]; !ok {
					t.Errorf("prometheus.yml scrapes %s, which is no service of compose.yaml", target)
				}
			}
		}
	}
	if !found {
		t.Error("prometheus.yml has no renderhook job (the dashboard's process panels select job=\"renderhook\")")
	}
	promtool(t, "check", "config", rewrittenConfig(t))
}

// rewrittenConfig is prometheus.yml with its rule file pointing at
// alerts.yml here rather than where compose mounts it.
func rewrittenConfig(t *testing.T) string {
	data, err := os.ReadFile("prometheus/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs("prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "prometheus.yml")
	if err := os.WriteFile(out, []byte(strings.ReplaceAll(string(data), "/etc/prometheus/alerts.yml", abs)), 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// TestAlertRules: the rules pass promtool check rules and their unit tests
// (alerts_test.yml, promtool test rules), read only exported series, and
// each has a severity and a section of docs/operations.md that explains it.
func TestAlertRules(t *testing.T) {
	var rf ruleFile
	readYAML(t, "prometheus/alerts.yml", &rf)
	ops, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	alerts := 0
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			alerts++
			for _, n := range names(r.Expr) {
				if !known(n) {
					t.Errorf("alert %s reads %s, which /metrics does not serve", r.Alert, n)
				}
			}
			if r.Labels["severity"] == "" {
				t.Errorf("alert %s has no severity", r.Alert)
			}
			anchor := "docs/operations.md#" + strings.ToLower(r.Alert)
			if !strings.Contains(r.Annotations["description"], anchor) {
				t.Errorf("alert %s's description does not point at %s", r.Alert, anchor)
			}
			if !strings.Contains(string(ops), "\n### "+r.Alert+"\n") {
				t.Errorf("docs/operations.md has no section ### %s", r.Alert)
			}
		}
	}
	if alerts < 5 {
		t.Fatalf("alerts.yml has %d alerts", alerts)
	}
	promtool(t, "check", "rules", "prometheus/alerts.yml")
	promtool(t, "test", "rules", "prometheus/alerts_test.yml")
}

// promtool runs Debian's promtool (package prometheus), skipping the rest
// of the test where it is not installed.
func promtool(t *testing.T, args ...string) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (apt-get install prometheus)")
	}
	out, err := exec.Command(path, args...).CombinedOutput() //nolint:gosec // our own arguments
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("promtool %s: %s", strings.Join(args, " "), strings.TrimSpace(string(out)))
}

type dashboard struct {
	UID    string `json:"uid"`
	Title  string `json:"title"`
	Panels []struct {
		Type    string `json:"type"`
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
		Datasource struct {
			UID string `json:"uid"`
		} `json:"datasource"`
	} `json:"panels"`
	Templating struct {
		List []struct {
			Name string `json:"name"`
		} `json:"list"`
	} `json:"templating"`
}

// TestDashboard: the dashboard parses, its panels read only exported
// series through the ${datasource} variable, and every renderhook family
// is on it; the provisioning points Grafana at the folder compose mounts
// and at the compose Prometheus.
func TestDashboard(t *testing.T) {
	data, err := os.ReadFile("grafana/dashboards/renderhook.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("renderhook.json: %v", err)
	}
	if d.UID == "" || d.Title == "" {
		t.Error("the dashboard needs a uid and a title")
	}
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
	}
	if !vars["datasource"] || !vars["instance"] {
		t.Errorf("dashboard variables %v, want datasource and instance", vars)
	}
	used := map[string]bool{}
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		if p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q uses datasource %q, not ${datasource}", p.Title, p.Datasource.UID)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			for _, n := range names(tg.Expr) {
				if !known(n) {
					t.Errorf("panel %q reads %s, which /metrics does not serve", p.Title, n)
				}
				used[strings.TrimSuffix(n, "_bucket")] = true
			}
		}
	}
	for _, f := range families {
		if !used[f] {
			t.Errorf("no panel shows %s", f)
		}
	}

	var ds struct {
		Datasources []struct {
			UID, Type, URL string
		} `yaml:"datasources"`
	}
	readYAML(t, "grafana/provisioning/datasources/prometheus.yaml", &ds)
	if len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" || !strings.HasPrefix(ds.Datasources[0].URL, "http://prometheus:") {
		t.Errorf("datasource provisioning: %+v", ds.Datasources)
	}
	var prov struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, "grafana/provisioning/dashboards/renderhook.yaml", &prov)
	if len(prov.Providers) != 1 || prov.Providers[0].Options.Path != "/etc/grafana/dashboards" {
		t.Errorf("dashboard provisioning: %+v", prov.Providers)
	}
}
