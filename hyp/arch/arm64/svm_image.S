// The secure VM's payload (hyp/svm/runtime), embedded read-only in the hyp image; vcpu.cc
// copies it into VM 10's carve-out at boot.
	.section .rodata.svm_image, "a"
	.balign 16
	.global hyp_svm_image
hyp_svm_image:
	.incbin HYPHEAP_SVM_IMAGE_PATH
	.global hyp_svm_image_end
hyp_svm_image_end:
