import { createContext, useContext } from 'react'

/** Below this zoom 10 px text is under 5 px on screen: the canvas drops its small print (see .canvas.far). */
export const FAR_ZOOM = 0.45

/**
 * Whether the canvas is zoomed out past FAR_ZOOM. Canvas provides it (one React Flow store
 * subscription for the whole canvas, not one per edge); edges read it to leave out what cannot be
 * seen or aimed at that far out: labels and the 18 px interaction stroke, each an extra element
 * whose style is recomputed for every edge on every frame of a drag that moves them.
 */
export const FarZoom = createContext(false)
export const useFarZoom = () => useContext(FarZoom)
