// Package configcmd is `iotjobs config list|show`: the profiles file and
// the connection settings a device command would resolve, with where each
// came from. It reads settings through cmdutil's layering and never reads
// key files.
package configcmd
