package buildspec

import "fmt"

// CodeYAMLFileError is the CodeBuild phase context status code of a
// buildspec that cannot be used.
const CodeYAMLFileError = "YAML_FILE_ERROR"

// Error is what Parse returns for a buildspec it rejects. Error() is the
// user-facing message alone, without the code: callers that show it the
// AWS way write Code() and the message side by side.
type Error struct {
	// Message says what is wrong and, where it knows, at which line.
	Message string
	// Line is the 1-based line of the offending YAML, 0 when unknown.
	Line int
}

// Error returns the message, without the code.
func (e *Error) Error() string { return e.Message }

// Code returns CodeYAMLFileError.
func (e *Error) Code() string { return CodeYAMLFileError }

// errorf makes an *Error; line 0 leaves the line out of the message.
func errorf(line int, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	if line > 0 {
		msg = fmt.Sprintf("%s at line %d", msg, line)
	}
	return &Error{Message: msg, Line: line}
}
