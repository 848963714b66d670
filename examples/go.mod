module github.com/payhook/payhook/examples

go 1.24.0

replace github.com/payhook/payhook => ../

require (
	github.com/go-chi/chi/v5 v5.5.0
	github.com/payhook/payhook v0.0.0
	github.com/stretchr/testify v1.12.1
)

require (
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/time v0.14.0 // indirect
)
