package render

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"html/template"
	"reflect"
	"sync"
	texttemplate "text/template"
	"text/template/parse"
	"time"
)

// Defaults of Limits.
const (
	// DefaultMaxTemplateBytes bounds the HTML one render's templates may
	// write (all its pages together).
	DefaultMaxTemplateBytes = 5 << 20
	// DefaultMaxTemplateSteps bounds the range iterations and template
	// calls of one execution: ranges whose body writes nothing, nested
	// ranges and recursive templates never reach the byte cap.
	// Each step costs about half a microsecond, so the default answers
	// within a fraction of a second while leaving room for long tables.
	DefaultMaxTemplateSteps = 250_000
	// DefaultTemplateTimeout bounds the time one execution may take.
	DefaultTemplateTimeout = time.Second
)

// ErrTemplateTooLarge: a template's execution exceeded its bounds (output
// size, steps or time); 422. It is a template error.
var ErrTemplateTooLarge = fmt.Errorf("%w: too large", ErrTemplate)

// Limits bound the template work of one render, all its pages together.
// Zero fields take the defaults above.
type Limits struct {
	// MaxBytes is the most HTML a render's pages may produce.
	MaxBytes int
	// MaxSteps is the most range iterations plus template calls.
	MaxSteps int
	// Timeout bounds the executions (within the render's own deadline).
	Timeout time.Duration
}

func (l Limits) withDefaults() Limits {
	l.MaxBytes = cmp.Or(l.MaxBytes, DefaultMaxTemplateBytes)
	l.MaxSteps = cmp.Or(l.MaxSteps, DefaultMaxTemplateSteps)
	l.Timeout = cmp.Or(l.Timeout, DefaultTemplateTimeout)
	return l
}

func (l Limits) validate() error {
	if l.MaxBytes < 0 || l.MaxSteps < 0 || l.Timeout < 0 {
		return fmt.Errorf("render: template limits must not be negative, got %+v", l)
	}
	return nil
}

// stepFunc is the function the parse tree calls at the top of every range
// body and every template body (see instrument); stepVar is the variable
// it is assigned to, a name no template can spell (it has a space), so the
// action prints nothing, html/template leaves it alone and it shadows no
// variable of the template.
const (
	stepFunc = "renderhookStep"
	stepVar  = "$ renderhook step"
)

// budget is what the template executions of one render may still spend:
// the limits hold for the render as a whole, however many pages it has.
// The executions of a render run one after another, so it needs no lock.
type budget struct {
	lim      Limits
	bytes    int // HTML made so far
	steps    int
	made     int       // bytes of strings the guarded builtins made, kept alive or not
	deadline time.Time // start + lim.Timeout: a clock read per step costs less than a timer per execution
}

// newBudget starts the budget of one render; lim's zero fields take the
// defaults.
func newBudget(lim Limits) *budget {
	lim = lim.withDefaults()
	return &budget{lim: lim, deadline: time.Now().Add(lim.Timeout)}
}

// execState is the state of one execution. Each template instance has its
// own (its functions are bound to it), and an instance runs one execution
// at a time, so nothing here needs a lock.
type execState struct {
	b   *budget // nil for a template executed outside the service: unbounded steps
	ctx context.Context
	err error // the first bound crossed, kept as Execute may wrap it
}

func (st *execState) fail(err error) error {
	if st.err == nil {
		st.err = err
	}
	return err
}

// step counts one range iteration or template call and stops the execution
// when the budget or the deadline is spent.
func (st *execState) step() (string, error) {
	b := st.b
	if b == nil {
		return "", nil
	}
	b.steps++
	if b.steps > b.lim.MaxSteps {
		return "", st.fail(fmt.Errorf("%w: more than %d steps (range iterations and template calls)", ErrTemplateTooLarge, b.lim.MaxSteps))
	}
	return "", st.inTime()
}

// inTime stops the execution once the render is cancelled or the budget's
// deadline or the render's own has passed. A deadline is the template's
// fault (TemplateTooLarge, nothing recorded); a cancellation is not.
func (st *execState) inTime() error {
	if err := st.ctx.Err(); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return st.fail(fmt.Errorf("%w: execution did not finish within the render's deadline", ErrTemplateTooLarge))
		}
		return st.fail(fmt.Errorf("execute template: %w", err))
	}
	if b := st.b; b != nil && time.Now().After(b.deadline) {
		return st.fail(fmt.Errorf("%w: execution took longer than %s", ErrTemplateTooLarge, b.lim.Timeout))
	}
	return nil
}

// maxMadeFactor bounds the bytes all guarded builtins of a render may make
// together, as a multiple of MaxBytes: without it, straight-line code
// ({{$v1 := print $b}} {{$v2 := print $b}} …) keeps any number of
// MaxBytes-sized values alive, and runs between steps, where no deadline is
// checked.
const maxMadeFactor = 4

// Guards of the builtins that make strings. Without them a template grows
// a value without writing it, e.g. {{$s = print $s $s}} in a range doubles
// $s every step, far beyond the output cap. Each refuses before formatting
// when its inputs already exceed the cap, and after when its result does.

func (st *execState) maxBytes() int {
	if st.b == nil {
		return DefaultMaxTemplateBytes
	}
	return st.b.lim.MaxBytes
}

func (st *execState) check(estimate int) error {
	if estimate > st.maxBytes() {
		return st.fail(fmt.Errorf("%w: a value would exceed %d bytes", ErrTemplateTooLarge, st.maxBytes()))
	}
	return nil
}

func (st *execState) result(s string) (string, error) {
	if err := st.check(len(s)); err != nil {
		return "", err
	}
	if b := st.b; b != nil {
		b.made += len(s)
		if b.made > maxMadeFactor*b.lim.MaxBytes {
			return "", st.fail(fmt.Errorf("%w: its print, printf, html, js and urlquery calls made more than %d bytes", ErrTemplateTooLarge, maxMadeFactor*b.lim.MaxBytes))
		}
	}
	if err := st.inTime(); err != nil {
		return "", err
	}
	return s, nil
}

func (st *execState) print(args ...any) (string, error) {
	if err := st.check(stringBytes(args)); err != nil {
		return "", err
	}
	return st.result(fmt.Sprint(args...))
}

func (st *execState) println(args ...any) (string, error) {
	if err := st.check(stringBytes(args) + len(args)); err != nil {
		return "", err
	}
	return st.result(fmt.Sprintln(args...))
}

func (st *execState) printf(format string, args ...any) (string, error) {
	if err := st.check(len(format) + formatWidths(format) + stringBytes(args)); err != nil {
		return "", err
	}
	return st.result(fmt.Sprintf(format, args...))
}

// escaper guards an escaping builtin whose output is at most grow times
// its input.
func (st *execState) escaper(grow int, f func(...any) string) func(...any) (string, error) {
	return func(args ...any) (string, error) {
		if err := st.check(grow * stringBytes(args)); err != nil {
			return "", err
		}
		return st.result(f(args...))
	}
}

func (st *execState) funcs() template.FuncMap {
	return template.FuncMap{
		stepFunc:  st.step,
		"print":   st.print,
		"println": st.println,
		"printf":  st.printf,
		// The builtins these guard are text/template's (html/template's
		// HTMLEscaper differs).
		"html":     st.escaper(6, texttemplate.HTMLEscaper),     // " → &#34;
		"js":       st.escaper(6, texttemplate.JSEscaper),       // < → \u003C
		"urlquery": st.escaper(3, texttemplate.URLQueryEscaper), // byte → %XX
	}
}

// stringBytes is the length of the string arguments among args. Other
// values come from the request's data, whose size is bounded already.
func stringBytes(args []any) int {
	n := 0
	for _, a := range args {
		if a == nil {
			continue
		}
		v := reflect.ValueOf(a)
		switch {
		case v.Kind() == reflect.String:
			n += v.Len()
		case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8:
			n += 2 * v.Len() // %x
		}
	}
	return n
}

// formatWidths adds up the widths and precisions a format asks for, each
// at most fmt's own limit (1e6; a '*' may take that from an argument), so
// "%999999d" repeated cannot allocate gigabytes.
func formatWidths(format string) int {
	const fmtMax = 1_000_000
	total := 0
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		for i++; i < len(format); i++ {
			c := format[i]
			switch {
			case c == '*':
				total += fmtMax
			case c >= '0' && c <= '9':
				n := 0
				for ; i < len(format) && format[i] >= '0' && format[i] <= '9'; i++ {
					n = min(n*10+int(format[i]-'0'), fmtMax)
				}
				total += n
				i--
			case c == '.' || c == '[' || c == ']' || c == '+' || c == '-' || c == '#' || c == ' ':
			default:
				goto verb // the verb ends the directive
			}
		}
	verb:
	}
	return total
}

// cappedBuffer is the output of one execution: writes past max fail, which
// aborts Execute.
type cappedBuffer struct {
	bytes.Buffer
	st *execState
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.st.b.bytes+b.Len()+len(p) > b.st.maxBytes() {
		return 0, b.st.fail(fmt.Errorf("%w: the render's HTML exceeds %d bytes", ErrTemplateTooLarge, b.st.maxBytes()))
	}
	return b.Buffer.Write(p)
}

// instrument puts a step action at the top of every range body and every
// template body of t, so every loop and every call (recursion included)
// spends the execution's budget and sees its deadline.
func instrument(t *template.Template) {
	for _, x := range t.Templates() {
		if x.Tree == nil || x.Tree.Root == nil {
			continue
		}
		instrumentList(x.Tree.Root)
		x.Tree.Root.Nodes = append([]parse.Node{stepNode(x.Tree.Root.Pos)}, x.Tree.Root.Nodes...)
	}
}

func instrumentList(l *parse.ListNode) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		switch n := n.(type) {
		case *parse.IfNode:
			instrumentList(n.List)
			instrumentList(n.ElseList)
		case *parse.WithNode:
			instrumentList(n.List)
			instrumentList(n.ElseList)
		case *parse.RangeNode:
			instrumentList(n.List)
			instrumentList(n.ElseList)
			n.List.Nodes = append([]parse.Node{stepNode(n.Pos)}, n.List.Nodes...)
		case *parse.ListNode:
			instrumentList(n)
		}
	}
}

// stepNode is {{$<stepVar> := renderhookStep}}: a declaration, so it
// prints nothing.
func stepNode(pos parse.Pos) *parse.ActionNode {
	return &parse.ActionNode{NodeType: parse.NodeAction, Pos: pos, Pipe: &parse.PipeNode{
		NodeType: parse.NodePipe, Pos: pos,
		Decl: []*parse.VariableNode{{NodeType: parse.NodeVariable, Pos: pos, Ident: []string{stepVar}}},
		Cmds: []*parse.CommandNode{{NodeType: parse.NodeCommand, Pos: pos, Args: []parse.Node{parse.NewIdentifier(stepFunc).SetPos(pos)}}},
	}}
}

// checkLiteralRanges refuses what is a bomb on its face: a range over a
// number literal larger than the step budget.
func checkLiteralRanges(t *template.Template) error {
	var walk func(l *parse.ListNode) error
	walk = func(l *parse.ListNode) error {
		if l == nil {
			return nil
		}
		for _, n := range l.Nodes {
			var b *parse.BranchNode
			switch n := n.(type) {
			case *parse.IfNode:
				b = &n.BranchNode
			case *parse.WithNode:
				b = &n.BranchNode
			case *parse.RangeNode:
				b = &n.BranchNode
				if p := b.Pipe; p != nil && len(p.Cmds) == 1 && len(p.Cmds[0].Args) == 1 {
					if num, ok := p.Cmds[0].Args[0].(*parse.NumberNode); ok && num.IsInt && num.Int64 > DefaultMaxTemplateSteps {
						return fmt.Errorf("%w: {{range %s}} exceeds the %d steps an execution may take", ErrTemplateTooLarge, num.Text, DefaultMaxTemplateSteps)
					}
				}
			case *parse.ListNode:
				if err := walk(n); err != nil {
					return err
				}
				continue
			default:
				continue
			}
			if err := walk(b.List); err != nil {
				return err
			}
			if err := walk(b.ElseList); err != nil {
				return err
			}
		}
		return nil
	}
	for _, x := range t.Templates() {
		if x.Tree != nil {
			if err := walk(x.Tree.Root); err != nil {
				return err
			}
		}
	}
	return nil
}

// compiled is a parsed, instrumented template and the instances that
// execute it. The master is never executed: html/template escapes a
// template on its first execution and cannot clone it afterwards, so each
// instance is a clone of the master with its functions bound to a budget
// of its own, reused by one execution at a time.
type compiled struct {
	master *template.Template
	mu     sync.Mutex
	free   []*instance
}

type instance struct {
	t  *template.Template
	st *execState
}

// maxIdleInstances is how many instances of one template are kept between
// executions; concurrent executions beyond it clone and drop their own.
const maxIdleInstances = 8

func (c *compiled) take() (*instance, error) {
	c.mu.Lock()
	if n := len(c.free); n > 0 {
		in := c.free[n-1]
		c.free = c.free[:n-1]
		c.mu.Unlock()
		return in, nil
	}
	c.mu.Unlock()
	t, err := c.master.Clone()
	if err != nil {
		return nil, fmt.Errorf("clone template: %w", err)
	}
	st := &execState{}
	return &instance{t: t.Funcs(st.funcs()), st: st}, nil
}

func (c *compiled) put(in *instance) {
	in.st.b, in.st.ctx, in.st.err = nil, nil, nil
	c.mu.Lock()
	if len(c.free) < maxIdleInstances {
		c.free = append(c.free, in)
	}
	c.mu.Unlock()
}

// execute runs the template with data within what is left of b and ctx:
// it fails with ErrTemplateTooLarge when the render's HTML would exceed
// MaxBytes, its steps MaxSteps or its time Timeout, and with ctx's error
// when ctx ends.
func (c *compiled) execute(ctx context.Context, b *budget, data any) (string, error) {
	in, err := c.take()
	if err != nil {
		return "", err
	}
	in.st.b, in.st.ctx, in.st.err = b, ctx, nil
	buf := &cappedBuffer{st: in.st}
	err = in.t.Execute(buf, data)
	bound := in.st.err
	c.put(in)
	switch {
	case bound != nil:
		return "", bound
	case err != nil:
		return "", fmt.Errorf("%w: %v", ErrTemplate, err)
	}
	b.bytes += buf.Len()
	return buf.String(), nil
}
