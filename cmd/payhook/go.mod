module github.com/payhook/payhook/cmd/payhook

go 1.26.0

require (
	github.com/jackc/pgx/v5 v5.8.0
	github.com/payhook/payhook v0.0.0
	github.com/payhook/payhook/idempotency/pgstore v0.0.0
	github.com/payhook/payhook/idempotency/redisstore v0.0.0
	github.com/redis/go-redis/v9 v9.22.0
	github.com/stretchr/testify v1.12.1
	golang.org/x/time v0.14.0
)

require (
	github.com/dustin/go-humanize v1.1.0 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/mattn/go-isatty v0.0.24 // indirect
	github.com/ncruces/go-strftime v1.1.0 // indirect
	github.com/remyoudompheng/bigfft v0.0.0-20230129092748-24d4a6f8daec // indirect
	modernc.org/libc v1.80.1 // indirect
	modernc.org/mathutil v1.7.1 // indirect
	modernc.org/memory v1.12.1 // indirect
	modernc.org/sqlite v1.62.0 // indirect
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.2 // indirect
	github.com/payhook/payhook/idempotency/sqlitestore v0.0.0
	go.uber.org/atomic v1.12.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.34.0 // indirect
)

replace (
	github.com/payhook/payhook => ../..
	github.com/payhook/payhook/idempotency/pgstore => ../../idempotency/pgstore
	github.com/payhook/payhook/idempotency/redisstore => ../../idempotency/redisstore
)

replace github.com/payhook/payhook/idempotency/sqlitestore => ../../idempotency/sqlitestore
