package config

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// KeyError is a decoding error on one key of a configuration file.
type KeyError struct {
	// Key is the dotted path of the key, with list indexes in brackets
	// (kafka.brokers[0]). It is empty for the document as a whole.
	Key  string
	Line int
	// Problem describes what is wrong with the key or its value.
	Problem string
}

func (e *KeyError) Error() string {
	key := e.Key
	if key == "" {
		key = "configuration"
	}
	return fmt.Sprintf("%s: %s (line %d)", key, e.Problem, e.Line)
}

// Messages of yaml.TypeError in gopkg.in/yaml.v3 v3.0.1 (decode.go). Each
// starts with the line of the key or value at fault.
var (
	unknownFieldMessage  = regexp.MustCompile(`^line (\d+): field (.*) not found in type \S+$`)
	repeatedFieldMessage = regexp.MustCompile(`^line (\d+): field (.*) already set in type \S+$`)
	repeatedKeyMessage   = regexp.MustCompile(`^line (\d+): mapping key (".*") already defined at line (\d+)$`)
	unmarshalMessage     = regexp.MustCompile("^line (\\d+): cannot unmarshal (\\S+)(?: `(.*)`)? into (.+)$")
)

// keyedNode is a key or value node of the document with the dotted path
// of the key it belongs to.
type keyedNode struct {
	node  *yaml.Node
	path  string
	isKey bool
	// used is set once an error message has been matched to the node, so
	// that two identical messages on one line go to two different nodes.
	used bool
}

// keyErrors converts the messages of a yaml.TypeError into KeyErrors by
// finding the node each message is about in root, the same document
// parsed into a node tree.
func keyErrors(root *yaml.Node, messages []string) error {
	nodes := indexNodes(root)
	errs := make([]error, 0, len(messages))
	for _, msg := range messages {
		errs = append(errs, keyError(nodes, msg))
	}
	return errors.Join(errs...)
}

// indexNodes lists every key and value node under root in document order.
func indexNodes(root *yaml.Node) []*keyedNode {
	var out []*keyedNode
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				out = append(out, &keyedNode{node: c, path: path})
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				key, value := n.Content[i], n.Content[i+1]
				child := joinKey(path, key.Value)
				out = append(out, &keyedNode{node: key, path: child, isKey: true}, &keyedNode{node: value, path: child})
				walk(value, child)
			}
		case yaml.SequenceNode:
			for i, item := range n.Content {
				child := fmt.Sprintf("%s[%d]", path, i)
				out = append(out, &keyedNode{node: item, path: child})
				walk(item, child)
			}
		}
		// Alias nodes are not followed: the decoder reports errors inside
		// an anchored value at the anchor's line, which is already indexed.
	}
	walk(root, "")
	return out
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// keyError matches one yaml.TypeError message to its node. A message that
// matches no node is returned unchanged, with the line but no key.
func keyError(nodes []*keyedNode, msg string) error {
	if m := unknownFieldMessage.FindStringSubmatch(msg); m != nil {
		return keyNodeError(nodes, m[1], m[2], "unknown key", msg)
	}
	if m := repeatedFieldMessage.FindStringSubmatch(msg); m != nil {
		return keyNodeError(nodes, m[1], m[2], "key set twice", msg)
	}
	if m := repeatedKeyMessage.FindStringSubmatch(msg); m != nil {
		name, err := strconv.Unquote(m[2])
		if err != nil {
			return errors.New(msg)
		}
		return keyNodeError(nodes, m[1], name, "duplicate key, first set at line "+m[3], msg)
	}
	if m := unmarshalMessage.FindStringSubmatch(msg); m != nil {
		return valueNodeError(nodes, m[1], m[2], m[3], m[4], msg)
	}
	return errors.New(msg)
}

func keyNodeError(nodes []*keyedNode, lineText, name, problem, msg string) error {
	line, _ := strconv.Atoi(lineText)
	for _, n := range nodes {
		if n.isKey && !n.used && n.node.Line == line && n.node.Value == name {
			n.used = true
			return &KeyError{Key: n.path, Line: line, Problem: problem}
		}
	}
	return errors.New(msg)
}

// valueNodeError finds the value node on the line whose tag and value
// match the message. The message shortens values over 10 bytes to 7 bytes
// and "...", so the node's value is shortened the same way to compare.
func valueNodeError(nodes []*keyedNode, lineText, tag, shortValue, target, msg string) error {
	line, _ := strconv.Atoi(lineText)
	for _, n := range nodes {
		if n.isKey || n.used || n.node.Line != line || n.node.ShortTag() != tag {
			continue
		}
		if n.node.Kind == yaml.ScalarNode && shortenValue(n.node.Value) != shortValue {
			continue
		}
		n.used = true
		return &KeyError{Key: n.path, Line: line, Problem: valueProblem(n.node, target)}
	}
	return errors.New(msg)
}

func shortenValue(v string) string {
	if len(v) > 10 {
		return v[:7] + "..."
	}
	return v
}

// valueProblem describes why the value node n cannot be decoded into the
// Go type named target, using the words of the environment overrides.
func valueProblem(n *yaml.Node, target string) string {
	if n.Kind == yaml.ScalarNode {
		switch {
		case target == "time.Duration":
			return fmt.Sprintf("invalid duration %q, expected Go syntax such as 500ms or 1h", n.Value)
		case strings.HasPrefix(target, "int"):
			return fmt.Sprintf("invalid integer %q", n.Value)
		case strings.HasPrefix(target, "uint"):
			return fmt.Sprintf("invalid unsigned integer %q", n.Value)
		case strings.HasPrefix(target, "float"):
			return fmt.Sprintf("invalid number %q", n.Value)
		case target == "bool":
			return fmt.Sprintf("invalid boolean %q, expected true or false", n.Value)
		}
	}
	return fmt.Sprintf("expected %s, got %s", describeType(target), describeNode(n))
}

func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	}
	return strconv.Quote(n.Value)
}

func describeType(goType string) string {
	switch {
	case goType == "string":
		return "a single value"
	case goType == "time.Duration":
		return "a duration such as 500ms or 1h"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "an integer"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case strings.HasPrefix(goType, "map["):
		return "a mapping"
	}
	return "a value of type " + goType
}
