package main

import "encoding/json"

// emitOperations writes the service constants, a handler interface per
// operation and Operations, which maps the operations a handler implements
// to wire.Ops.
func (g *Generator) emitOperations(w *writer) {
	w.use("context")
	w.use(wireImport)

	w.p("// TargetPrefix is the service's X-Amz-Target prefix: a request for")
	w.p("// operation Op carries the target TargetPrefix + \".\" + Op.")
	w.p("const TargetPrefix = %q\n", localName(g.svc.ID))

	var sig struct {
		Name string `json:"name"`
	}
	if raw, ok := g.svc.Traits[traitSigV4]; !ok || json.Unmarshal(raw, &sig) != nil || sig.Name == "" {
		g.note("service %s has no aws.auth#sigv4 signing name; SigningName is empty", g.svc.ID)
	}
	w.p("// SigningName is the service name in SigV4 credential scopes.")
	w.p("const SigningName = %q\n", sig.Name)

	w.p("// OperationNames lists every operation of the service, sorted.")
	w.p("var OperationNames = []string{")
	for _, o := range g.ops {
		w.p("%q,", o.Name)
	}
	w.p("}\n")

	for _, o := range g.ops {
		w.p("// %s serves the %s operation.", o.Handler, o.Name)
		w.p("type %s interface {\n\t%s(ctx context.Context, in *%s) (*%s, error)\n}\n", o.Handler, o.Name, o.InType, o.OutType)
	}

	w.p("// Operations returns a wire.Op for every operation whose handler")
	w.p("// interface h implements, keyed by operation name. Each Op decodes the")
	w.p("// request body, validates it and calls h; operations h does not")
	w.p("// implement are absent.")
	w.p("func Operations(h any) map[string]wire.Op {")
	w.p("ops := make(map[string]wire.Op)")
	for _, o := range g.ops {
		w.p("if x, ok := h.(%s); ok {\n\tops[%q] = makeOp(x.%s)\n}", o.Handler, o.Name, o.Name)
	}
	w.p("return ops\n}\n")

	w.p(`// inputPtr is a pointer to an operation input.
type inputPtr[T any] interface {
	*T
	Validate() error
}

// makeOp adapts a handler method to a wire.Op: it decodes the body into a
// new input, validates it and calls the method. A nil output answers "{}".
func makeOp[I any, P inputPtr[I], O any](call func(context.Context, P) (*O, error)) wire.Op {
	return func(ctx context.Context, body []byte) (any, error) {
		in := P(new(I))
		if err := wire.DecodeJSON(body, in); err != nil {
			return nil, err
		}
		if err := in.Validate(); err != nil {
			return nil, err
		}
		out, err := call(ctx, in)
		if err != nil {
			return nil, err
		}
		if out == nil {
			return nil, nil
		}
		return out, nil
	}
}`)
}
