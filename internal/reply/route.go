package reply

// Route is one entry of an HTTP route table as tests and documentation
// see it: the method ("" for any), the ServeMux pattern and the
// authentication A the route asks for (api.Auth, ui.Auth).
type Route[A ~string] struct {
	Method  string
	Pattern string
	Auth    A
}

// MuxPattern is the route's ServeMux pattern: "GET /path", or the bare
// pattern for any method.
func (r Route[A]) MuxPattern() string {
	if r.Method == "" {
		return r.Pattern
	}
	return r.Method + " " + r.Pattern
}
