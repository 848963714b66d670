module github.com/payhook/payhook/tools/dashboard

go 1.24.0

require (
	github.com/payhook/payhook v0.1.0
	github.com/payhook/payhook/observe/grafana v0.1.0
	github.com/payhook/payhook/observe/prometheus v0.1.0
	github.com/prometheus/client_golang v1.23.2
	golang.org/x/image v0.33.0
)
