// The labels of a container that headroom reads (no zod here: the gate loads this too).

/** The CPU reservation a container declares (Docker keeps none). */
export const CPU_RESERVATION_LABEL = 'headroom.cpu-reservation';
/** `true`: automatic sizing may change the container's limits (and the gate passes such an update). */
export const AUTOSIZE_LABEL = 'headroom.autosize';
