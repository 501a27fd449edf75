package main

import (
	"go/token"
	"testing"
)

func TestGoName(t *testing.T) {
	tests := map[string]string{
		"pipelineName":           "PipelineName",
		"pipelineArn":            "PipelineArn",
		"AWSSessionCredentials":  "AWSSessionCredentials",
		"s3location":             "S3location",
		"S3":                     "S3",
		"V2":                     "V2",
		"AWS":                    "Aws",
		"LINUX_GPU_CONTAINER":    "LinuxGpuContainer",
		"BUILD_GENERAL1_2XLARGE": "BuildGeneral12xlarge",
		"foo_bar":                "FooBar",
		"t2.micro":               "T2Micro",
		"dark-blue":              "DarkBlue",
		"1.0":                    "V10",
		"":                       "Empty",
		"---":                    "Empty",
		"Pending":                "Pending",
		"x":                      "X",
		"éclair":                 "Éclair",
		"名前":                     "X名前",
	}
	for in, want := range tests {
		got := goName(in)
		if got != want {
			t.Errorf("goName(%q) = %q, want %q", in, got, want)
		}
		if !token.IsIdentifier(got) || !token.IsExported(got) {
			t.Errorf("goName(%q) = %q is not an exported identifier", in, got)
		}
	}
}

func TestNamespace(t *testing.T) {
	ns := newNamespace("Validate")
	got := []string{ns.claim("Name"), ns.claim("Name"), ns.claim("Name2"), ns.claim("Name"), ns.claim("Validate")}
	want := []string{"Name", "Name2", "Name22", "Name3", "Validate2"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("claim #%d = %q, want %q (all: %v)", i, got[i], want[i], got)
		}
	}
	if len(ns.renamed) != 4 || ns.renamed[0] != "Name → Name2" {
		t.Errorf("renamed = %q", ns.renamed)
	}
}
