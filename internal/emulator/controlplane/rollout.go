package controlplane

import "net/http"

// The emulator's rollout route: how far a job's rollout has come, which AWS
// does not expose. It answers as the AWS routes do, with iotapi's shape.

func (cp *controlPlane) rolloutState(w http.ResponseWriter, r *http.Request) {
	jobID, err := pathJobID(r)
	if err != nil {
		writeError(w, err)
		return
	}
	out, err := cp.engine.RolloutState(jobID)
	reply(w, out, err)
}
