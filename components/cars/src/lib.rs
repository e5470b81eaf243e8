//! cars component.
