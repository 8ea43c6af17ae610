package ntpengine

const debugDisc = false
