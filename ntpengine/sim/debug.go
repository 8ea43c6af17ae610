package sim

const debugSim = false
