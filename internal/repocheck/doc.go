// Package repocheck holds tests about the repository itself rather than
// about one package's behaviour: rules every test file must keep so that a
// plain clone of the repository, with nothing beside it, passes make test.
package repocheck
