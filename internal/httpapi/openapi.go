package httpapi

import _ "embed"

// OpenAPI is the OpenAPI 3.1 description of the API, served at /api/v1/openapi.json. A test checks that it
// describes every registered route.
//
//go:embed openapi.json
var OpenAPI []byte
