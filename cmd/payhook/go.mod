module github.com/payhook/payhook/cmd/payhook

go 1.24.0

require (
	github.com/payhook/payhook v0.0.0
	github.com/stretchr/testify v1.12.1
)

require (
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/time v0.14.0 // indirect
)

replace github.com/payhook/payhook => ../..
