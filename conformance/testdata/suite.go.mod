// Pinned module graph that builds opencontainers/runtime-tools v0.9.0's validation
// suite (used by conformance_test.go; the key of the build cache is a hash of this file
// and suite.go.sum). runtime-tools v0.9.0 predates modules (it used Godeps): these pins
// are upstream's first go.mod (commit 0e5956d), except runtime-spec at the exact Godeps
// commit 1722abf and selinux v1.2.2 instead of the unserved v1.1+1 pseudo-version.

module ocivalidation

go 1.21

require github.com/opencontainers/runtime-tools v0.9.0

require (
	github.com/blang/semver v3.5.0+incompatible // indirect
	github.com/davecgh/go-spew v1.1.1-0.20170829195320-a47672248388 // indirect
	github.com/hashicorp/errwrap v1.0.0 // indirect
	github.com/hashicorp/go-multierror v1.0.0 // indirect
	github.com/mndrix/tap-go v0.0.0-20171203230836-629fa407e90b // indirect
	github.com/mrunalp/fileutils v0.0.0-20160930181131-4ee1cc9a8058 // indirect
	github.com/opencontainers/runtime-spec v1.0.2-0.20181111125026-1722abf79c2f // indirect
	github.com/opencontainers/selinux v1.2.2 // indirect
	github.com/pmezard/go-difflib v1.0.0 // indirect
	github.com/satori/go.uuid v1.1.0 // indirect
	github.com/sirupsen/logrus v1.0.2-0.20170713114250-a3f95b5c4235 // indirect
	github.com/stretchr/testify v1.1.5-0.20170809224252-890a5c3458b4 // indirect
	github.com/syndtr/gocapability v0.0.0-20170704070218-db04d3cc01c8 // indirect
	github.com/urfave/cli v1.19.1 // indirect
	github.com/xeipuuv/gojsonpointer v0.0.0-20170225233418-6fe8760cad35 // indirect
	github.com/xeipuuv/gojsonreference v0.0.0-20150808065054-e02fc20de94c // indirect
	github.com/xeipuuv/gojsonschema v0.0.0-20170528113821-0c8571ac0ce1 // indirect
	golang.org/x/sys v0.0.0-20170407050850-f3918c30c5c2 // indirect
	gopkg.in/yaml.v2 v2.4.0 // indirect
)
