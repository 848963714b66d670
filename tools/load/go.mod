module github.com/payhook/payhook/tools/load

go 1.24.0

require github.com/payhook/payhook v0.1.0

require golang.org/x/time v0.14.0 // indirect
