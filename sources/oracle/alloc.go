package oracle

import "unsafe"

// eface is the layout of an interface value whose dynamic type is not
// pointer-shaped: its type word and a pointer to the value.
type eface struct{ typ, data unsafe.Pointer }

var stringType = func() unsafe.Pointer {
	var x any = ""
	return (*eface)(unsafe.Pointer(&x)).typ
}()

// asString returns v, an interface holding a value of a string kind
// (godror.Number), as an interface holding a string with the same bytes,
// without allocating: Go would box string(x) afresh, one heap object per
// NUMBER value (60 per row of a VBRP-shaped table). The result points at
// the same immutable string header godror boxed, which it keeps alive like
// any pointer; only the type word changes, to string's. The caller
// guarantees v's dynamic type has string as its underlying type.
func asString(v any) any {
	e := *(*eface)(unsafe.Pointer(&v))
	e.typ = stringType
	return *(*any)(unsafe.Pointer(&e))
}
