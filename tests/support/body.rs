//! A hyper response body, read to the end as text: what http-body-util's
//! `collect` does, without the dependency.

use std::pin::Pin;

use hyper::body::{Body, Incoming};

pub async fn text(mut body: Incoming) -> String {
    let mut bytes = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        if let Ok(data) = frame.unwrap().into_data() {
            bytes.extend_from_slice(&data);
        }
    }
    String::from_utf8(bytes).unwrap()
}
