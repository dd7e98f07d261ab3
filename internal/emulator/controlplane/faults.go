package controlplane

import (
	"net/http"

	"github.com/iotjobs/iotjobs/internal/iotapi"
)

// The emulator's fault routes: InjectFault, ListFaults, ClearFaults. They
// answer as the AWS routes do, with the shapes of iotapi.

func (cp *controlPlane) injectFault(w http.ResponseWriter, r *http.Request) {
	var in iotapi.FaultInput
	if _, err := decodeBody(r, &in); err != nil {
		writeError(w, err)
		return
	}
	fault, err := cp.faults.Inject(in)
	reply(w, iotapi.ListFaultsOutput{Faults: []iotapi.Fault{fault}}, err)
}

func (cp *controlPlane) listFaults(w http.ResponseWriter, _ *http.Request) {
	reply(w, iotapi.ListFaultsOutput{Faults: cp.faults.List()}, nil)
}

func (cp *controlPlane) clearFaults(w http.ResponseWriter, _ *http.Request) {
	cp.faults.Clear()
	reply(w, nil, nil)
}
