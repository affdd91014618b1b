package stages

// VBRPNDJSON gives the external tests the VBRP rows of vbrp_test.go.
var VBRPNDJSON = vbrpNDJSON
